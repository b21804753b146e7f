package rechisthttp

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/seed178a96f3/rechist"
)

// Other processes on the database are this test binary re-executed with
// helperEnv set: an application writing while `rechist serve` reads.
const helperEnv = "RECHISTHTTP_HELPER"

// TestHelperProcess is not a test: re-executed with helperEnv set, it
// stores rows into the file named by helperEnv_PATH and exits.
//
//	store NAME VALUE   one row, now
//	write NAME N       N rows, values 0..N-1, one Store each
func TestHelperProcess(t *testing.T) {
	role := os.Getenv(helperEnv)
	if role == "" {
		t.Skip("helper process only")
	}
	if err := runHelper(role, os.Getenv(helperEnv+"_PATH"), os.Getenv(helperEnv+"_NAME"), os.Getenv(helperEnv+"_ARG")); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func runHelper(role, path, name, arg string) error {
	ctx := context.Background()
	db, err := rechist.Open(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	repo := rechist.NewRepo[json.RawMessage](db)
	switch role {
	case "store":
		err = repo.Store(ctx, name, json.RawMessage(arg))
	case "write":
		n, _ := strconv.Atoi(arg)
		for i := range n {
			if err = repo.Store(ctx, name, json.RawMessage(strconv.Itoa(i))); err != nil {
				break
			}
		}
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil {
		return err
	}
	return db.Close()
}

// helper runs the test binary as another process in role on the database
// at path, and waits for it, bounded by a minute.
func helper(t *testing.T, path, role, name, arg string) {
	t.Helper()
	if err := helperErr(t.Context(), path, role, name, arg); err != nil {
		t.Fatal(err)
	}
}

// helperErr is helper for a goroutine other than the test's.
func helperErr(ctx context.Context, path, role, name, arg string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+role, helperEnv+"_PATH="+path, helperEnv+"_NAME="+name, helperEnv+"_ARG="+arg)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("helper %s: %v\n%s", role, err, out)
	}
	return nil
}
