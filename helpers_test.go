package rechist_test

import "github.com/seed178a96f3/rechist/internal/testutil"

// Accuracy is the value type of the Rust crate's README.
type Accuracy = testutil.Accuracy
