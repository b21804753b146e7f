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
	db, err := e.open()
	if err != nil {
		return err
	}
	defer db.Close()
	cutoff := time.Now().Add(-time.Duration(c.OlderThan))
	n, err := db.Cleanup(e.ctx, cutoff)
	fmt.Fprintf(e.stdout, "deleted %d rows stored before %s\n", n, c.format(cutoff))
	if err != nil {
		return err
	}
	return db.Close()
}
