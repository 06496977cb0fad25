package main

import (
	"context"
	"fmt"

	"github.com/bulkdl/bulkdl/job"
	"github.com/bulkdl/bulkdl/manifest"
)

// verify checks, offline, every file of the manifest at its path: present,
// of the manifest's size, and matching its checksum (job.Verify). It takes
// no lock: it writes nothing but the report.
func (c *cli) verify(args []string) int {
	fs := c.flagSet("verify")
	var sf settingsFlags
	sf.register(fs)
	report := fs.String("report", "", "write a JSON report (statuses verified, missing, mismatch, unverified)")
	var shard shardFlag
	fs.Var(&shard, "shard", "K/N: verify only this shard's files, as run -shard takes them")
	if code, ok := c.parseArgs(fs, args, 0, -1); !ok {
		return code
	}
	// verify sends no request: a ${VAR} it cannot expand is a warning,
	// as in check, so it runs where the secrets are not (a fork's CI).
	sf.opts.UnsetEnv = true
	names := fs.Args()
	if sf.input != "" {
		names = append(names, "")
	}
	switch {
	case len(names) == 0:
		c.usageError(fs, "want a manifest (or -i with a URL list)")
		return exitUsage
	case len(names) > 1 && *report != "":
		c.usageError(fs, "-report describes one manifest; give one, or run verify once per manifest")
		return exitUsage
	}
	ctx, signalled, stop := signalContext()
	defer stop()
	code := exitOK
	for _, name := range names {
		if ctx.Err() != nil {
			break
		}
		in := sf
		if name != "" {
			in.input = ""
		}
		m, ok := c.load(fs, &in, name)
		if !ok {
			if *report != "" {
				if name == "" {
					name = in.input
				}
				if err := job.BareReport("verify", name, shard.String(), exitUsage, "the manifest or a flag is not valid; nothing was verified (the log says why)").Write(*report); err != nil {
					fmt.Fprintf(c.stderr, "bulkdl verify: %v\n", err)
				}
			}
			code = max(code, exitUsage)
			continue
		}
		code = max(code, c.verifyManifest(ctx, m, shard.Shard, *report, signalled))
	}
	if sig := signalled(); sig != 0 {
		return sig
	}
	return code
}

// verifyManifest verifies one manifest's files and writes its report.
// An interrupt (signalled returns non-zero) stops the hashing; the files
// not checked stay pending in the report, which is written all the same.
func (c *cli) verifyManifest(ctx context.Context, m *manifest.Manifest, shard job.Shard, report string, signalled func() int) int {
	if report != "" {
		if err := job.CheckReportPath(report); err != nil {
			fmt.Fprintf(c.stderr, "bulkdl verify: -report %v\n", err)
			return exitSetup
		}
		if err := job.ReportClash(report, m); err != nil {
			fmt.Fprintf(c.stderr, "bulkdl verify: -report %v\n", err)
			return exitUsage
		}
	}
	res, err := job.Verify(ctx, m, shard)
	if err != nil {
		fmt.Fprintf(c.stderr, "bulkdl verify: %v\n", err)
		if report != "" {
			if err := job.WriteReport(report, res, exitFailed); err != nil {
				fmt.Fprintf(c.stderr, "bulkdl verify: %v\n", err)
			}
		}
		return exitFailed
	}
	bad := 0
	for i := range res.Files {
		fr := &res.Files[i]
		if fr.Outcome == job.Missing || fr.Outcome == job.Mismatch {
			bad++
			fmt.Fprintf(c.stdout, "%s: %s\n", fr.Outcome, fr.Err)
		}
	}
	fmt.Fprintf(c.stderr, "verify: %s: %d file(s): %d verified, %d unverified (no checksum, size ok), %d missing, %d mismatched\n",
		m.Name, res.InShard, res.Count(job.Verified), res.Count(job.Unverified), res.Count(job.Missing), res.Count(job.Mismatch))
	code := exitOK
	if bad > 0 {
		code = exitFailed
	}
	if sig := signalled(); sig != 0 {
		code = sig
	}
	if report != "" {
		if err := job.WriteReport(report, res, code); err != nil {
			fmt.Fprintf(c.stderr, "bulkdl verify: %v\n", err)
			return exitSetup
		}
	}
	return code
}
