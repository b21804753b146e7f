package rechisthttp

import (
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/seed178a96f3/rechist"
)

// The sync protocol over HTTP (rechist.SyncTarget): a device's `rechist
// sync --to https://server/` reads its cursor with GET /api/sync?source=ID
// and pushes batches with POST /api/sync, each committed with its cursor
// move by the server's DB (rechist.DB.ApplySync), so the lock of a push
// never spans the network and the device holds no database credentials.

// syncStatusJSON is GET /api/sync's answer and SyncClient's reading of it.
type syncStatusJSON struct {
	Source  string `json:"source"`
	Cursor  int64  `json:"cursor"`
	Sent    int64  `json:"sent"`
	Missed  int64  `json:"missed"`
	Updated int64  `json:"updated_ms,omitempty"`
	Hash    string `json:"hash"`
	Epoch   string `json:"epoch"`
	// What the server remembers of the source besides its cursor
	// (rechist.SyncStatus): the pattern and prefix of its pushes, and
	// where it first received it.
	Filtered bool   `json:"filtered"`
	Pattern  string `json:"pattern"`
	Prefix   string `json:"prefix"`
	Horizon  int64  `json:"horizon"`
	Gone     int64  `json:"gone"`
	// ContinuedBy and ContinuedAt: the new identity that took over the
	// source's history at its cursor (rechist.SyncStatus).
	ContinuedBy string `json:"continued_by,omitempty"`
	ContinuedAt int64  `json:"continued_at,omitempty"`
	// Epochs, with ?epochs=1 only: the epochs of the source's ids the
	// server received (rechist.DB.SyncEpochs).
	Epochs []syncEpochJSON `json:"epochs,omitempty"`
}

type syncEpochJSON struct {
	Start int64  `json:"start"`
	Token string `json:"token"`
}

// syncPushJSON is POST /api/sync's body. Values travel as strings, so a
// value that is not JSON (another program's row) arrives byte for byte;
// times as milliseconds since 1970, as stored.
type syncPushJSON struct {
	Source string `json:"source"`
	Prev   int64  `json:"prev"`
	Last   int64  `json:"last"`
	Hash   string `json:"hash"`
	Epoch  string `json:"epoch"`
	Missed int64  `json:"missed"`
	// Pattern and Prefix are the push's (absent: an older client's push,
	// not checked); Horizon, Gone, Epochs and Adopt as rechist.SyncPush.
	Pattern string          `json:"pattern,omitempty"`
	Prefix  string          `json:"prefix,omitempty"`
	Horizon int64           `json:"horizon,omitempty"`
	Gone    int64           `json:"gone,omitempty"`
	Epochs  []syncEpochJSON `json:"epochs,omitempty"`
	Adopt   bool            `json:"adopt,omitempty"`
	// Parent and ParentLast, with adopt: the earlier identity and its
	// cursor as the client read it (rechist.SyncPush).
	Parent     string        `json:"parent,omitempty"`
	ParentLast int64         `json:"parent_last,omitempty"`
	Rows       []syncRowJSON `json:"rows"`
}

type syncRowJSON struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	StoredAt int64  `json:"stored_at"`
}

// serveSyncStatus answers GET /api/sync?source=ID: the cursor the server
// holds for that source (all zero when it has received nothing).
func (h *Handler) serveSyncStatus(w http.ResponseWriter, r *http.Request) error {
	source := r.URL.Query().Get("source")
	if source == "" {
		return &statusError{http.StatusBadRequest, "source is required: the sync source's id"}
	}
	ctx, cancel := h.deadline(r)
	defer cancel()
	st, err := h.db.SyncStatus(ctx, source)
	if err != nil {
		return err
	}
	out := syncStatusJSON{Source: source, Cursor: st.Cursor, Sent: st.Sent, Missed: st.Missed, Hash: st.Hash, Epoch: st.Epoch,
		Filtered: st.Filtered, Pattern: st.Pattern, Prefix: st.Prefix, Horizon: st.Horizon, Gone: st.Gone,
		ContinuedBy: st.ContinuedBy, ContinuedAt: st.ContinuedAt}
	if !st.Updated.IsZero() {
		out.Updated = st.Updated.UnixMilli()
	}
	if r.URL.Query().Get("epochs") == "1" {
		es, err := h.db.SyncEpochs(ctx, source)
		if err != nil {
			return err
		}
		out.Epochs = make([]syncEpochJSON, len(es))
		for i, e := range es {
			out.Epochs[i] = syncEpochJSON(e)
		}
	}
	return writeJSON(w, out)
}

// serveSyncPush answers POST /api/sync: one batch of a source's rows and
// its cursor move, committed together or not at all (409 when the cursor
// is not where the push says, another push of the source having moved it).
func (h *Handler) serveSyncPush(w http.ResponseWriter, r *http.Request) error {
	if !h.cfg.writable {
		return &statusError{http.StatusForbidden, "this server is read-only (rechist serve --writable takes sync pushes)"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.maxBodyBytes))
	if err != nil {
		return err
	}
	var in syncPushJSON
	if err := json.Unmarshal(body, &in); err != nil {
		return &statusError{http.StatusBadRequest, "the push is not a JSON sync batch: " + err.Error()}
	}
	p := rechist.SyncPush{Source: in.Source, Prev: in.Prev, Last: in.Last, Hash: in.Hash, Epoch: in.Epoch, Missed: in.Missed,
		Pattern: in.Pattern, Prefix: in.Prefix, Horizon: in.Horizon, Gone: in.Gone, Adopt: in.Adopt,
		Parent: in.Parent, ParentLast: in.ParentLast,
		Rows: make([]rechist.SyncRow, len(in.Rows))}
	if in.Epochs != nil {
		p.Epochs = make([]rechist.SyncEpoch, len(in.Epochs))
		for i, e := range in.Epochs {
			p.Epochs[i] = rechist.SyncEpoch(e)
		}
	}
	for i, row := range in.Rows {
		p.Rows[i] = rechist.SyncRow{Name: row.Name, Value: json.RawMessage(row.Value), StoredAt: time.UnixMilli(row.StoredAt)}
	}
	ctx, cancel := h.deadline(r)
	defer cancel()
	if err := h.db.ApplySync(ctx, p); err != nil {
		return err
	}
	return writeJSON(w, map[string]int64{"cursor": in.Last, "stored": int64(len(in.Rows))})
}
