package testutil

import "github.com/seed178a96f3/rechist/internal/testutil/refmatch"

// ReferenceMatch is refmatch.Match: the pattern language written
// independently of the library.
func ReferenceMatch(pattern, name string) bool { return refmatch.Match(pattern, name) }
