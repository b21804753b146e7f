package repo

// slog attribute keys used by the engine.
const (
	logKeyPath        = "path"
	logKeySynchronous = "synchronous"
	logKeyRecord      = "record"
	logKeyID          = "id"
	logKeyError       = "err"
	logKeyDeleted     = "deleted"
	logKeyCutoff      = "cutoff"
)
