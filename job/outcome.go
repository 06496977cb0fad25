package job

import "fmt"

// Outcome is what became of one file of a manifest in a run or a
// verification. Its String is the status the report and the output show.
type Outcome int

const (
	Pending    Outcome = iota // not finished: interrupted, or never started
	Downloaded                // fetched, verified and published by this run
	Skipped                   // already complete at its path, or not modified on the server
	Failed                    // the run gave up on it
	Verified                  // verify: at its path, and its checksum matches
	Unverified                // verify: at its path with the manifest's size, but no checksum to check
	Missing                   // verify: not at its path
	Mismatch                  // verify: its size or checksum differs from the manifest
	OtherShard                // another shard's file: not this run's business
)

var outcomeNames = [...]string{
	Pending:    "pending",
	Downloaded: "downloaded",
	Skipped:    "skipped",
	Failed:     "failed",
	Verified:   "verified",
	Unverified: "unverified",
	Missing:    "missing",
	Mismatch:   "mismatch",
	OtherShard: "other-shard",
}

func (o Outcome) String() string {
	if o >= 0 && int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// MarshalText writes the outcome as the report's status.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText reads a report's status.
func (o *Outcome) UnmarshalText(b []byte) error {
	for k, name := range outcomeNames {
		if name == string(b) {
			*o = Outcome(k)
			return nil
		}
	}
	return fmt.Errorf("job: unknown outcome %q", b)
}

// Bad reports whether the outcome is a failure the exit code must tell:
// failed, missing or mismatched.
func (o Outcome) Bad() bool { return o == Failed || o == Missing || o == Mismatch }

// Present reports whether the file is complete at its path after the run.
func (o Outcome) Present() bool {
	return o == Downloaded || o == Skipped || o == Verified || o == Unverified
}
