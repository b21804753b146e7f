package rechist

import (
	"fmt"
	"slices"

	"github.com/seed178a96f3/rechist/internal/core"
)

// namedOption is the one shape of every option of this package ([Option],
// [SyncOption], [RepoOption]): a name, which its errors carry and by which
// it is refused when given twice, and what it sets in S, checking its
// argument.
type namedOption[S any] struct {
	name string
	set  func(*S) error
}

// applyOptions applies opts to s in order for call ("Open", "Sync",
// "NewRepo"; op is its operation in errors): a nil option, one given
// twice, or one whose argument is bad is an error wrapping
// ErrInvalidArgument that names it, and nothing is applied after it.
// given lists the names applied so far.
func applyOptions[S any, O comparable](op, call string, s *S, given *[]string, opts []O, shape func(O) namedOption[S]) error {
	var zero O
	for _, o := range opts {
		if o == zero {
			return optionError(op, call, "option is nil")
		}
		n := shape(o)
		if slices.Contains(*given, n.name) {
			return optionError(op, n.name, "given more than once")
		}
		if err := n.set(s); err != nil {
			return err
		}
		*given = append(*given, n.name)
	}
	return nil
}

// optionError is the error of option name of call op about its argument.
func optionError(op, name, format string, args ...any) error {
	return core.Invalidf(op, "%s: %s", name, fmt.Sprintf(format, args...))
}
