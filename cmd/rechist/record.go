package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/seed178a96f3/rechist/rechistmqtt"
)

// recordCmd records an MQTT broker: each message on the subscribed topic
// filters becomes a row (package rechistmqtt does the work).
type recordCmd struct {
	URL       string   `arg:"" optional:"" placeholder:"URL" help:"The broker: mqtt://[user[:password]@]host[:port] (port 1883) or mqtts:// (port 8883, verified with the system's CA pool or --ca). Default: RECHIST_MQTT_URL, which keeps a password off the command line."`
	Topic     []string `short:"t" sep:"none" placeholder:"FILTER" help:"An MQTT topic filter to record ('+' one level, '#' the rest); repeat for more. At least one."`
	Prefix    string   `placeholder:"STR" help:"Put STR, as it is, before every record name (home. makes zigbee2mqtt/kitchen home.zigbee2mqtt.kitchen)."`
	Slashes   bool     `name:"keep-slashes" help:"Keep the topic's / in record names (zigbee2mqtt/kitchen) instead of turning them into . (zigbee2mqtt.kitchen)."`
	Retained  bool     `help:"Store the retained messages the broker sends on subscribing (old values; skipped by default), at their time of arrival unless --time-field finds one; one the record already holds (its latest row, or a row at its --time-field time) is not stored again."`
	TimeField string   `name:"time-field" placeholder:"PATH" help:"Take a row's time from this field of a JSON object payload (keys joined by ., e.g. time or meta.ts): Unix milliseconds, RFC 3339 or a local date and time; Unix seconds are refused. Payloads without it take their time of arrival. Also lets a redelivered message whose payload holds the field find its first row and not be stored twice."`
	CA        string   `name:"ca" placeholder:"FILE" help:"With mqtts://, trust the CA certificates of this PEM file instead of the system's."`
	ClientID  string   `name:"client-id" placeholder:"ID" help:"The MQTT client id: the broker keeps the session (subscriptions, messages not yet stored) under it. Default: rechist- and a hash of --db (its absolute path) and the filters, the same from one run to the next, printed at start. Set it in a container, and wherever two recorders could have the same --db path and filters."`
}

func (c *recordCmd) Help() string {
	return `Subscribes with QoS 1 on a persistent session and stores each message as a
row, acknowledging it to the broker only once the row is committed: messages
published while rechist is stopped or disconnected are stored when it comes
back (as long as the broker keeps them: mosquitto's max_queued_messages,
1000 by default, and persistence). The database is opened at SyncFull, so
a row acknowledged to the broker survives a power loss.
The topic zigbee2mqtt/kitchen/temperature becomes the record
zigbee2mqtt.kitchen.temperature. A JSON payload is stored as it is (21.5,
true, {"temperature":21.5}); other text as a JSON string (ON -> "ON"); empty
and binary payloads are skipped. Refused topics and values are reported and
counted. A line says when the connection is lost and regained; on a
terminal a status line counts messages, rows, skipped, refused and the rate.
Ctrl-C (or SIGTERM) stops after committing what was received. See
docs/mqtt.md.

Example:
  rechist record mqtt://localhost --topic 'zigbee2mqtt/#'
  RECHIST_MQTT_URL=mqtts://rechist:secret@broker.lan rechist record -t 'tele/+/SENSOR' --time-field Time
  rechist latest 'zigbee2mqtt.*' --topics`
}

func (c *recordCmd) Run(e *env) error {
	raw := c.URL
	if raw == "" {
		raw = os.Getenv("RECHIST_MQTT_URL")
	}
	if raw == "" {
		return usagef("record needs the broker's URL: an argument (mqtt://host) or RECHIST_MQTT_URL")
	}
	if len(c.Topic) == 0 {
		return usagef("record needs at least one --topic FILTER (e.g. --topic '#')")
	}
	var opts []rechistmqtt.Option
	if c.Prefix != "" {
		opts = append(opts, rechistmqtt.WithPrefix(c.Prefix))
	}
	if c.Slashes {
		opts = append(opts, rechistmqtt.WithSlashes())
	}
	if c.Retained {
		opts = append(opts, rechistmqtt.WithRetained())
	}
	if c.TimeField != "" {
		opts = append(opts, rechistmqtt.WithTimeField(c.TimeField))
	}
	if c.ClientID != "" {
		opts = append(opts, rechistmqtt.WithClientID(c.ClientID))
	}
	if c.CA != "" {
		if !strings.HasPrefix(raw, "mqtts://") && !strings.HasPrefix(raw, "ssl://") && !strings.HasPrefix(raw, "tls://") {
			return usagef("--ca is for an mqtts:// (or ssl://, tls://) broker")
		}
		cfg, err := rechistmqtt.TLSConfig(c.CA)
		if err != nil {
			return err
		}
		opts = append(opts, rechistmqtt.WithTLSConfig(cfg))
	}
	out := &recordOutput{e: e}
	opts = append(opts, rechistmqtt.WithConnectionEvents(out.event), rechistmqtt.WithLogger(slog.New(lineHandler{out})))

	if err := rechistmqtt.Check(raw, c.Topic, opts...); err != nil {
		return usageError{err} // before the database is opened: nothing is created
	}
	db, err := e.open()
	if err != nil {
		return err
	}
	defer db.Close()
	rec, err := rechistmqtt.New(db, raw, c.Topic, opts...)
	if err != nil {
		return usageError{err}
	}
	out.rec = rec
	fmt.Fprintf(e.stdout, "%s recording %s (client id %s) topics %s into %s\n", stamp(), rec.Broker(), rec.ClientID(),
		strings.Join(c.Topic, ", "), redacted(e.dbPath))
	start := time.Now()
	statusDone := make(chan struct{})
	var wg sync.WaitGroup
	if e.interactive {
		wg.Go(func() { out.statusLoop(statusDone) })
	}
	runErr := rec.Run(e.ctx)
	close(statusDone)
	wg.Wait()
	out.clearStatus()
	if err := db.Close(); err != nil && runErr == nil {
		runErr = err
	}
	summary := summarize(rec.Stats(), time.Since(start))
	if runErr != nil {
		fmt.Fprintf(e.stdout, "%s stopped: %s\n", stamp(), summary)
		return runErr
	}
	return interruption{"stopped: " + summary + "; what was received is stored, the rest stays with the broker for the next run"}
}

// recordOutput writes the command's lines: connection events and refusals
// on stdout and stderr, and the status line on a terminal (stderr), which
// it clears before any other line.
type recordOutput struct {
	e   *env
	rec *rechistmqtt.Recorder

	mu          sync.Mutex
	statusShown bool
	connected   bool // once connected
	lostAt      time.Time
	lastFail    string
}

func stamp() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z") }

// lineHandler writes the library's warnings (refused topics, values and
// times) as lines on stderr: "topic refused: topic=a//b err=...".
type lineHandler struct{ o *recordOutput }

func (h lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h lineHandler) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h lineHandler) WithGroup(string) slog.Handler                { return h }

func (h lineHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(strings.TrimPrefix(r.Message, "rechistmqtt: "))
	sep := ": "
	r.Attrs(func(a slog.Attr) bool {
		v := a.Value.String()
		if a.Key == "err" {
			v = strings.TrimPrefix(v, "rechist: ")
		} else if strings.ContainsAny(v, " \t\n\"=") || v == "" {
			v = strconv.Quote(v)
		}
		fmt.Fprintf(&b, "%s%s=%s", sep, a.Key, v)
		sep = " "
		return true
	})
	o := h.o
	o.mu.Lock()
	defer o.mu.Unlock()
	o.clearLocked()
	fmt.Fprintf(o.e.stderr, "%s %s\n", stamp(), b.String())
	return nil
}

func (o *recordOutput) event(ev rechistmqtt.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.clearLocked()
	w := o.e.stdout
	switch ev.Kind {
	case rechistmqtt.Connected:
		how := "subscribed"
		if ev.SessionPresent {
			how = "session resumed"
		}
		switch {
		case !o.connected:
			fmt.Fprintf(w, "%s connected to %s (%s)\n", stamp(), ev.Broker, how)
		case !o.lostAt.IsZero():
			fmt.Fprintf(w, "%s connection regained after %v (%s)\n", stamp(), time.Since(o.lostAt).Round(time.Millisecond), how)
		}
		o.connected, o.lostAt, o.lastFail = true, time.Time{}, ""
	case rechistmqtt.Lost:
		o.lostAt = time.Now()
		fmt.Fprintf(w, "%s connection lost: %v; reconnecting\n", stamp(), ev.Err)
	case rechistmqtt.Failed:
		if o.lostAt.IsZero() {
			o.lostAt = time.Now()
		}
		if msg := ev.Err.Error(); msg != o.lastFail {
			fmt.Fprintf(w, "%s cannot connect to %s: %s; retrying, up to every %v\n", stamp(), ev.Broker, msg, maxBackoff)
			o.lastFail = msg
		}
	}
}

// statusLoop rewrites the status line every second until done.
func (o *recordOutput) statusLoop(done <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	last, lastAt := int64(0), time.Now()
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			s := o.rec.Stats()
			rate := float64(s.Messages-last) / now.Sub(lastAt).Seconds()
			last, lastAt = s.Messages, now
			o.mu.Lock()
			state := ""
			if !s.Connected {
				state = " (disconnected)"
			}
			fmt.Fprintf(o.e.stderr, "\r\033[K%d messages, %d rows, %d skipped, %d refused, %.0f msg/s%s", s.Messages, s.Rows, s.Skipped(), s.Refused(), rate, state)
			o.statusShown = true
			o.mu.Unlock()
		}
	}
}

func (o *recordOutput) clearStatus() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.clearLocked()
}

func (o *recordOutput) clearLocked() {
	if o.statusShown {
		fmt.Fprint(o.e.stderr, "\r\033[K")
		o.statusShown = false
	}
}

// summarize is what a run did.
func summarize(s rechistmqtt.Stats, elapsed time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, %s stored in %v", plural(s.Messages, "message"), plural(s.Rows, "row"), elapsed.Round(time.Millisecond))
	if n := s.Skipped(); n > 0 {
		fmt.Fprintf(&b, "; skipped %d (%d retained, %d empty, %d binary)", n, s.SkippedRetained, s.SkippedEmpty, s.SkippedBinary)
	}
	if n := s.Refused(); n > 0 {
		fmt.Fprintf(&b, "; refused %d (%d topics, %d values, %d times)", n, s.RefusedName, s.RefusedValue, s.RefusedTime)
	}
	if s.Duplicates > 0 {
		fmt.Fprintf(&b, "; %s redelivered and already stored, not stored again", plural(s.Duplicates, "message"))
	}
	if s.Redelivered > 0 {
		fmt.Fprintf(&b, "; %s redelivered and stored (each may repeat a row stored before an acknowledgement was lost)", plural(s.Redelivered, "message"))
	}
	return b.String()
}
