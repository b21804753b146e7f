package main

import (
	"fmt"
	"time"
)

type cleanupCmd struct {
	OlderThan duration `name:"older-than" required:"" placeholder:"DURATION" help:"Delete rows stored longer ago than this (90m, 36h, 7d)."`
	timeFlags `embed:""`
}

func (c *cleanupCmd) Help() string {
	return `Example:
  rechist cleanup --older-than 7d`
}

func (c *cleanupCmd) Run(e *env) error {
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
