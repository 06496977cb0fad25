package main

func (c *cli) run(args []string) int {
	fs := c.flagSet("run", "")
	var sf settingsFlags
	sf.register(fs)
	if code, ok := c.parse(fs, args, 1); !ok {
		return code
	}
	if _, ok := c.load(fs, &sf, fs.Arg(0)); !ok {
		return exitUsage
	}
	c.stderr.Write([]byte("bulkdl run: not implemented yet\n"))
	return exitFailed
}
