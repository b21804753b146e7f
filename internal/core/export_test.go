package core

// SetSyncSourceRead sets the hook Sync runs between reading the source's
// identity and the destination's cursor (nil: none).
func SetSyncSourceRead(f func()) { syncSourceRead = f }

// SetTimelineWindowRead sets the hook Timeline calls before reading each
// window of its second pass (nil: none).
func SetTimelineWindowRead(f func()) { timelineWindowRead = f }
