package core

// The slog attribute keys every package of rechist logs with, so that one
// handler configuration covers the library, both engines and the CLI.
const (
	LogKeyPath        = "path"
	LogKeySynchronous = "synchronous"
	LogKeyRecord      = "record"
	LogKeyID          = "id"
	LogKeyType        = "type"
	LogKeyError       = "err"
	LogKeyDeleted     = "deleted"
	LogKeyCutoff      = "cutoff"
	LogKeyRequests    = "requests"
	LogKeyFrames      = "frames"
	LogKeyStall       = "stall"
	LogKeyEngine      = "engine"
	LogKeyXID         = "xid"
)
