package repo

import (
	"database/sql/driver"
	"fmt"

	"modernc.org/sqlite"

	"github.com/seed178a96f3/rechist/internal/core"
)

// mergeBlockFunc is the SQL function the rollup's upserts merge a block's
// new buckets into the stored block with (queries/merge): core's
// MergeBlockData, registered with the driver for every connection this
// process opens. Only rechist's own statements call it; other programs
// that open the file never need it.
const mergeBlockFunc = "rechist_merge_block"

func init() {
	sqlite.MustRegisterDeterministicScalarFunction(mergeBlockFunc, 2, mergeBlock)
}

// mergeBlock is rechist_merge_block(stored, delta): both blocks' data.
func mergeBlock(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	old, ok1 := args[0].([]byte)
	delta, ok2 := args[1].([]byte)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%s: want two blocks, got %T and %T", mergeBlockFunc, args[0], args[1])
	}
	return core.MergeBlockData(old, delta)
}
