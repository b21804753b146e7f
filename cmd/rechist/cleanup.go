package main

import (
	"fmt"
	"time"
)

type cleanupCmd struct {
	OlderThan duration `name:"older-than" placeholder:"DURATION" help:"Delete the rows of every record stored longer ago than this (90m, 36h, 7d), whatever its retention policy. Without it, cleanup applies the retention policies."`
	timeFlags `embed:""`
}

func (c *cleanupCmd) Help() string {
	return `Without --older-than, cleanup runs a retention pass now: each record loses
the rows older than its retention policy keeps them (rechist retention);
records no policy matches keep theirs. With --older-than it deletes the old
rows of every record, whatever its policy.

Example:
  rechist cleanup
  rechist cleanup --older-than 7d`
}

func (c *cleanupCmd) Run(e *env) error {
	if c.OlderThan == 0 {
		return c.applyPolicies(e)
	}
	cutoff := time.Now().Add(-time.Duration(c.OlderThan))
	if cutoff.Before(epoch) {
		return usagef("--older-than %v reaches back to %s, before 1970-01-01, the earliest time rechist stores",
			c.OlderThan, cutoff.UTC().Format(time.DateOnly))
	}
	db, err := e.open()
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := db.Cleanup(e.ctx, cutoff)
	if err != nil {
		if e.ctx.Err() != nil {
			return interruption{fmt.Sprintf("interrupted after deleting %s stored before %s", plural(n, "row"), c.format(cutoff))}
		}
		if n > 0 {
			// Cleanup commits in chunks: these stay deleted.
			return fmt.Errorf("%w (%s stored before %s deleted before that)", err, plural(n, "row"), c.format(cutoff))
		}
		return err
	}
	fmt.Fprintf(e.stdout, "deleted %s stored before %s\n", plural(n, "row"), c.format(cutoff))
	return db.Close()
}

// applyPolicies runs a retention pass.
func (c *cleanupCmd) applyPolicies(e *env) error {
	db, err := e.open()
	if err != nil {
		return err
	}
	defer db.Close()
	pols, err := db.Policies(e.ctx)
	if err != nil {
		return err
	}
	n, err := db.ApplyRetention(e.ctx)
	if err != nil {
		if e.ctx.Err() != nil {
			return interruption{fmt.Sprintf("interrupted after deleting %s (retention policies)", plural(n, "row"))}
		}
		if n > 0 {
			// Retention commits in chunks: these stay deleted.
			return fmt.Errorf("%w (%s deleted before that)", err, plural(n, "row"))
		}
		return err
	}
	fmt.Fprintf(e.stdout, "deleted %s (retention policies)\n", plural(n, "row"))
	if len(pols) == 0 {
		fmt.Fprintln(e.stderr, "no retention policies: every record keeps its rows (rechist retention set adds one; --older-than deletes by age)")
	}
	return db.Close()
}
