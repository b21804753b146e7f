package main

import (
	"fmt"
	"time"

	"github.com/seed178a96f3/rechist"
)

type partitionCmd struct {
	Every duration `required:"" placeholder:"DURATION" help:"The width of each partition, whole minutes (1d suits most: 2h makes twelve times as many)."`
	Yes   bool     `help:"Convert the table now; without it, say what converting would do."`
}

func (c *partitionCmd) Help() string {
	return `Keeps a PostgreSQL history in partitions of time (rechist.WithPartitions):
retention then drops whole partitions instead of deleting their rows one by
one. Converting copies every row into the partitioned table under a lock
that makes every writer wait (minutes for tens of millions of rows), once;
every process sees the partitions afterwards. Without --yes it only says
what it would do. SQLite files have no partitions.

Example:
  rechist --db postgres://host/db partition --every 1d
  rechist --db postgres://host/db partition --every 1d --yes`
}

func (c *partitionCmd) Run(e *env) error {
	if !isURL(e.dbPath) {
		return usagef("partitions are for PostgreSQL; %s is a SQLite file", e.dbPath)
	}
	every := time.Duration(c.Every)
	if !c.Yes {
		db, err := e.openRead()
		if err != nil {
			return err
		}
		defer db.Close()
		s, err := db.Summary(e.ctx, 0)
		if err != nil {
			return err
		}
		switch {
		case s.PartitionWidth == every:
			fmt.Fprintf(e.stdout, "already in %s of %s: nothing to do\n", plural(s.Partitions, "partition"), c.Every)
		case s.PartitionWidth > 0:
			return usagef("the table is in partitions of %s; the width cannot change", duration(s.PartitionWidth))
		default:
			fmt.Fprintf(e.stdout, "would copy %s (%s) into partitions of %s, every writer waiting meanwhile; run again with --yes\n",
				plural(int(s.Rows), "row"), bytesString(s.FileBytes), c.Every)
		}
		return db.Close()
	}
	db, err := e.open(rechist.WithPartitions(every))
	if err != nil {
		return err
	}
	defer db.Close()
	s, err := db.Summary(e.ctx, 0)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s in %s of %s\n", plural(int(s.Rows), "row"), plural(s.Partitions, "partition"), c.Every)
	return db.Close()
}
