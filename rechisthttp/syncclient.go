package rechisthttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/seed178a96f3/rechist"
)

// SyncClientTimeout bounds each request of a SyncClient (a push of a full
// batch included) when its ctx has no earlier deadline.
const SyncClientTimeout = 2 * time.Minute

// SyncClient is a rechist.SyncTarget on a server running this package's
// handler writable (`rechist serve --writable`): rechist.SyncTo(ctx, src,
// client) pushes a device's rows to it over HTTP(S), exactly once.
//
// A push whose answer does not come (the connection lost, the server
// restarted) may have committed. The client then asks the server for the
// source's cursor: at the push's end with the push's fingerprint, it
// committed (nil); anything else is an error wrapping
// rechist.ErrOutcomeUnknown, since the push may still be on its way. The
// next sync starts from the cursor the server holds either way, so
// nothing is sent twice or skipped.
//
// The client remembers where a source's cursor stands after a push of
// that source the server confirmed, and answers SyncStatus of the source
// from it, so that the next sync of that source (`rechist sync --follow`)
// costs one request, the push, not two. A status it only asked for (GET
// /api/sync: of a source before its first confirmed push here, or of an
// earlier identity a new one continues, see rechist.DB.NewSourceID) it
// keeps only to compute the status after its source's next push, never
// to answer SyncStatus. A push that continues an earlier identity makes
// it forget that identity's status too, whatever the answer: the push
// may have marked it continued, or have been refused because its cursor
// moved. The server still checks every push against its own cursors: if
// another sync of the source moved it meanwhile, the push is refused with
// rechist.ErrConflict, nothing written, the client forgets what it
// remembered, and the next SyncTo asks the server again (`rechist sync`
// retries a conflict at once).
type SyncClient struct {
	base  *url.URL
	token string
	http  *http.Client

	mu    sync.Mutex
	known map[string]knownStatus // by source
}

// knownStatus is a source's status on the server as the client last
// learned it; pushed says it was after a push of the source the server
// confirmed (else it was asked for: SyncClient).
type knownStatus struct {
	st     rechist.SyncStatus
	pushed bool
}

var _ rechist.SyncTarget = (*SyncClient)(nil)

// NewSyncClient returns a client of the server at baseURL (http:// or
// https://, the address `rechist serve` listens on, with any path prefix
// a reverse proxy adds), sending token as a bearer token when it is not
// empty.
func NewSyncClient(baseURL, token string) (*SyncClient, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: sync server %q: want http://HOST[:PORT][/PATH] or https://...", rechist.ErrInvalidArgument, baseURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return &SyncClient{base: u, token: token, http: &http.Client{Timeout: SyncClientTimeout}, known: map[string]knownStatus{}}, nil
}

// String is the server's URL, without credentials.
func (c *SyncClient) String() string { return c.base.Redacted() }

// SyncStatus asks GET /api/sync?source=ID, unless the client's own last
// push of source told it the answer (see SyncClient).
func (c *SyncClient) SyncStatus(ctx context.Context, source string) (rechist.SyncStatus, error) {
	c.mu.Lock()
	k, ok := c.known[source]
	c.mu.Unlock()
	if ok && k.pushed {
		return k.st, nil
	}
	return c.askStatus(ctx, source)
}

// SyncEpochs asks GET /api/sync?source=ID&epochs=1 for the epochs of the
// source's ids the server received: what lets a source with a new
// identity continue its old identity's history (rechist.DB.NewSourceID).
//
// The answer is decoded as it streams in, up to MaxSyncEpochs epochs (a
// source with more is an error wrapping ErrTooManyEpochs): an old identity
// that many DB handles wrote to has an epoch each, beyond what other
// answers may be.
func (c *SyncClient) SyncEpochs(ctx context.Context, source string) ([]rechist.SyncEpoch, error) {
	req, err := c.request(ctx, http.MethodGet, "?epochs=1&source="+url.QueryEscape(source), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, c.refusal(resp)
	}
	body := &limitedReader{r: resp.Body, n: maxSyncEpochsBytes}
	var st syncStatusJSON
	if err := json.NewDecoder(body).Decode(&st); err != nil {
		if body.n <= 0 {
			return nil, fmt.Errorf("%w: sync server %s: the epochs of source %s take more than %d bytes", ErrTooManyEpochs, c, source, int64(maxSyncEpochsBytes))
		}
		return nil, fmt.Errorf("sync server %s: the epochs of source %s: %w", c, source, err)
	}
	if len(st.Epochs) > MaxSyncEpochs {
		return nil, fmt.Errorf("%w: sync server %s: source %s has %d epochs", ErrTooManyEpochs, c, source, len(st.Epochs))
	}
	out := make([]rechist.SyncEpoch, len(st.Epochs))
	for i, e := range st.Epochs {
		out[i] = rechist.SyncEpoch(e)
	}
	return out, nil
}

// MaxSyncEpochs bounds the epochs of one source SyncEpochs reads: one per
// DB handle that stored rows of the source (a million handles, at about
// 60 bytes each, is 60 MB of JSON).
const MaxSyncEpochs = 1_000_000

// maxSyncEpochsBytes bounds SyncEpochs' answer: MaxSyncEpochs epochs with
// the longest start ids and tokens of 32 hex digits, and the status.
const maxSyncEpochsBytes = MaxSyncEpochs*80 + 1<<20

// ErrTooManyEpochs is wrapped by SyncEpochs when the server holds more
// than MaxSyncEpochs epochs of a source: its new identity cannot continue
// its old one's history over HTTP (push it straight to the database, or
// under a new prefix).
var ErrTooManyEpochs = errors.New("too many epochs of a sync source")

// limitedReader is io.LimitedReader that leaves n at 0 when the limit was
// reached (and then reads nothing more).
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, fmt.Errorf("more than the limit")
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// askStatus is GET /api/sync?source=ID.
func (c *SyncClient) askStatus(ctx context.Context, source string) (rechist.SyncStatus, error) {
	req, err := c.request(ctx, http.MethodGet, "?source="+url.QueryEscape(source), nil)
	if err != nil {
		return rechist.SyncStatus{}, err
	}
	var st syncStatusJSON
	if err := c.do(req, &st); err != nil {
		return rechist.SyncStatus{}, err
	}
	out := rechist.SyncStatus{Source: source, Cursor: st.Cursor, Sent: st.Sent, Missed: st.Missed, Hash: st.Hash, Epoch: st.Epoch,
		Filtered: st.Filtered, Pattern: st.Pattern, Prefix: st.Prefix, Horizon: st.Horizon, Gone: st.Gone,
		ContinuedBy: st.ContinuedBy, ContinuedAt: st.ContinuedAt}
	if st.Updated > 0 {
		out.Updated = time.UnixMilli(st.Updated).UTC()
	}
	c.remember(out, false)
	return out, nil
}

// ApplySync sends POST /api/sync. An answer from the server is final (an
// error of the server's wraps what it said: rechist.ErrConflict,
// ErrInvalidArgument, ErrBusy); no answer is looked into (see SyncClient).
func (c *SyncClient) ApplySync(ctx context.Context, p rechist.SyncPush) error {
	in := syncPushJSON{Source: p.Source, Prev: p.Prev, Last: p.Last, Hash: p.Hash, Epoch: p.Epoch, Missed: p.Missed,
		Pattern: p.Pattern, Prefix: p.Prefix, Horizon: p.Horizon, Gone: p.Gone, Adopt: p.Adopt,
		Parent: p.Parent, ParentLast: p.ParentLast, Rows: make([]syncRowJSON, len(p.Rows))}
	for _, e := range p.Epochs {
		in.Epochs = append(in.Epochs, syncEpochJSON(e))
	}
	for i, r := range p.Rows {
		in.Rows[i] = syncRowJSON{Name: r.Name, Value: string(r.Value), StoredAt: r.StoredAt.UnixMilli()}
	}
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := c.request(ctx, http.MethodPost, "", body)
	if err != nil {
		return err
	}
	before, ok := c.take(p.Source)
	if p.Adopt {
		c.take(p.Parent)
	}
	err = c.do(req, nil)
	var se *serverError
	switch {
	case err == nil:
		if ok && (before.Cursor == p.Prev || (p.Adopt && before.Cursor == 0)) {
			// The server's status now, as it computed it
			// (rechist.SyncPush's step).
			st := rechist.SyncStatus{Source: p.Source, Cursor: p.Last, Hash: p.Hash, Epoch: p.Epoch,
				Sent: before.Sent + int64(len(p.Rows)), Missed: before.Missed + p.Missed,
				Updated: time.Now().UTC().Truncate(time.Millisecond), Filtered: before.Filtered, Pattern: before.Pattern,
				Prefix: before.Prefix, Horizon: before.Horizon, Gone: before.Gone + p.Gone}
			if before.Cursor == 0 {
				st.Horizon = p.Horizon
			}
			if p.Pattern != "" {
				st.Filtered, st.Pattern, st.Prefix = true, p.Pattern, p.Prefix
			}
			c.remember(st, true)
		}
		return nil
	case errors.As(err, &se) && se.final():
		return err
	}
	return c.learn(ctx, p, err)
}

// take returns what the client remembers of source's status and forgets
// it: a push may move the cursor.
func (c *SyncClient) take(source string) (rechist.SyncStatus, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.known[source]
	delete(c.known, source)
	return k.st, ok
}

// remember keeps st as its source's status on the server, learned from a
// confirmed push of the source (pushed) or asked for.
func (c *SyncClient) remember(st rechist.SyncStatus, pushed bool) {
	c.mu.Lock()
	c.known[st.Source] = knownStatus{st: st, pushed: pushed}
	c.mu.Unlock()
}

// learn finds out whether push p, whose answer was lost (cause), committed.
func (c *SyncClient) learn(ctx context.Context, p rechist.SyncPush, cause error) error {
	st, err := c.askStatus(ctx, p.Source)
	switch {
	case err == nil && st.Cursor == p.Last && st.Hash == p.Hash:
		return nil
	case err == nil:
		return fmt.Errorf("%w: sync push to %s: %w (the server's cursor is at %d, the push moved it from %d to %d; it may still commit)",
			rechist.ErrOutcomeUnknown, c, cause, st.Cursor, p.Prev, p.Last)
	}
	return fmt.Errorf("%w: sync push to %s: %w (and asking for the cursor: %v)", rechist.ErrOutcomeUnknown, c, cause, err)
}

func (c *SyncClient) request(ctx context.Context, method, query string, body []byte) (*http.Request, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+"/api/sync"+query, r)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

// do sends req and decodes a 200 answer into out (nil: ignored); any
// other status is a *serverError.
func (c *SyncClient) do(req *http.Request, out any) error {
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return c.refusal(resp)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(body, out)
}

// refusal is the *serverError of an answer other than 200.
func (c *SyncClient) refusal(resp *http.Response) error {
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error == "" {
		e.Error = strings.TrimSpace(string(body))
	}
	return &serverError{code: resp.StatusCode, msg: e.Error, server: c.String()}
}

// serverError is a status other than 200 from the sync server.
type serverError struct {
	code   int
	msg    string
	server string
}

func (e *serverError) Error() string {
	return fmt.Sprintf("sync server %s: %d %s: %s", e.server, e.code, http.StatusText(e.code), e.msg)
}

// final says whether the status says for certain that a push did not
// commit: every refusal before or instead of the write. A 500 (which may
// carry the server's own unknown outcome), a 502 or 504 from a proxy in
// between, are not.
func (e *serverError) final() bool {
	switch e.code {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout:
		return false
	}
	return true
}

// Unwrap maps the status to rechist's sentinels.
func (e *serverError) Unwrap() error {
	switch e.code {
	case http.StatusConflict:
		return rechist.ErrConflict
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		return rechist.ErrInvalidArgument
	case http.StatusServiceUnavailable:
		return rechist.ErrBusy
	}
	return nil
}
