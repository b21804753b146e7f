package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/seed178a96f3/rechist"
)

type migrateCmd struct {
	Up     migrateUpCmd     `cmd:"" help:"Apply the pending migrations (the commands that write do this when they open the database)."`
	Status migrateStatusCmd `cmd:"" help:"List the migrations and whether each is applied."`
	Down   migrateDownCmd   `cmd:"" help:"Roll back the newest migration (never the base schema)."`
}

func (c *migrateCmd) Help() string {
	return `The migrations are embedded in the binary; the same files are in
migrations/ for the goose command line.

Example:
  rechist migrate status`
}

type migrateUpCmd struct{}

func (migrateUpCmd) Run(e *env) error {
	applied, err := rechist.MigrateUp(e.ctx, e.dbPath)
	for _, m := range applied {
		fmt.Fprintf(e.stdout, "applied %s\n", m.Source)
	}
	if err == nil && len(applied) == 0 {
		fmt.Fprintln(e.stdout, "no pending migrations")
	}
	return err
}

type migrateStatusCmd struct {
	timeFlags `embed:""`
}

func (c *migrateStatusCmd) Run(e *env) error {
	ms, err := rechist.MigrationStatus(e.ctx, e.dbPath)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tMIGRATION\tAPPLIED")
	for _, m := range ms {
		applied := "pending"
		if m.Applied {
			applied = c.format(m.AppliedAt)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\n", m.Version, m.Source, applied)
	}
	return tw.Flush()
}

type migrateDownCmd struct{}

func (migrateDownCmd) Run(e *env) error {
	m, err := rechist.MigrateDown(e.ctx, e.dbPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "rolled back %s\n", m.Source)
	return nil
}
