package rechistmqtt

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/seed178a96f3/rechist"
)

// Option configures a Recorder.
type Option func(*config) error

type config struct {
	clientID    string
	prefix      string
	keepSlash   bool
	retained    bool
	timeField   []string
	tls         *tls.Config
	logger      *slog.Logger
	workers     int
	onConnect   func(Event)
	maxBackoff  time.Duration
	connTimeout time.Duration
	set         map[string]bool
}

// once refuses an option given twice.
func (c *config) once(name string) error {
	if c.set[name] {
		return fmt.Errorf("%s given twice: %w", name, rechist.ErrInvalidArgument)
	}
	c.set[name] = true
	return nil
}

// WithClientID sets the MQTT client id: the broker keeps the session (the
// subscriptions and the messages not yet acknowledged) under it, so it
// must stay the same from one run to the next and be used by no other
// client. The default is DefaultClientID: "rechist-" and 12 hex digits of
// a hash of the database and the topic filters.
func WithClientID(id string) Option {
	return func(c *config) error {
		if err := c.once("WithClientID"); err != nil {
			return err
		}
		if id == "" || len(id) > 65535 {
			return fmt.Errorf("client id must be 1 to 65535 bytes, got %d: %w", len(id), rechist.ErrInvalidArgument)
		}
		c.clientID = id
		return nil
	}
}

// WithPrefix puts prefix, as it is, before every record name: with
// "home.", the topic zigbee2mqtt/kitchen becomes home.zigbee2mqtt.kitchen.
// It must be UTF-8 without NUL bytes, shorter than rechist.MaxNameBytes.
func WithPrefix(prefix string) Option {
	return func(c *config) error {
		if err := c.once("WithPrefix"); err != nil {
			return err
		}
		switch {
		case strings.IndexByte(prefix, 0) >= 0:
			return fmt.Errorf("prefix holds a NUL byte: %w", rechist.ErrInvalidArgument)
		case !utf8.ValidString(prefix):
			return fmt.Errorf("prefix is not UTF-8: %w", rechist.ErrInvalidArgument)
		case len(prefix) >= rechist.MaxNameBytes:
			return fmt.Errorf("prefix is %d bytes, leaving no room for a topic in a record name of at most %d: %w",
				len(prefix), rechist.MaxNameBytes, rechist.ErrInvalidArgument)
		}
		c.prefix = prefix
		return nil
	}
}

// WithSlashes keeps the topic's '/' in record names instead of turning
// them into '.' (zigbee2mqtt/kitchen stays zigbee2mqtt/kitchen).
func WithSlashes() Option {
	return func(c *config) error {
		if err := c.once("WithSlashes"); err != nil {
			return err
		}
		c.keepSlash = true
		return nil
	}
}

// WithRetained stores the retained messages the broker sends on
// subscribing (old values, skipped by default), at their time of arrival
// unless WithTimeField finds a time in them. The Recorder subscribes on
// every connection, so the broker sends them again each time: one the
// record already holds (a row at its time from the payload, or else a
// latest row with its value) is skipped and counted in
// Stats.SkippedRetained.
func WithRetained() Option {
	return func(c *config) error {
		if err := c.once("WithRetained"); err != nil {
			return err
		}
		c.retained = true
		return nil
	}
}

// WithTimeField takes a row's time from a field of its JSON object
// payload: path is the field's keys joined by '.' ("time",
// "meta.ts"). A number is Unix milliseconds; a string is RFC 3339, a local
// date and time, or Unix milliseconds; a number that looks like Unix
// seconds is refused, as rechist ingest refuses it. Payloads without the
// field take their time of arrival.
func WithTimeField(path string) Option {
	return func(c *config) error {
		if err := c.once("WithTimeField"); err != nil {
			return err
		}
		keys := strings.Split(path, ".")
		for _, k := range keys {
			if k == "" {
				return fmt.Errorf("time field %q has an empty key: %w", path, rechist.ErrInvalidArgument)
			}
		}
		c.timeField = keys
		return nil
	}
}

// WithTLSConfig sets the TLS configuration of an mqtts:// broker (the
// default verifies the broker with the system's CA pool); New refuses it
// with an mqtt:// URL. The Recorder uses a copy, with ServerName set to
// the broker's host when it is empty.
func WithTLSConfig(cfg *tls.Config) Option {
	return func(c *config) error {
		if err := c.once("WithTLSConfig"); err != nil {
			return err
		}
		if cfg == nil {
			return fmt.Errorf("nil TLS config: %w", rechist.ErrInvalidArgument)
		}
		c.tls = cfg
		return nil
	}
}

// WithLogger logs refused messages and connection changes (silent by
// default).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if err := c.once("WithLogger"); err != nil {
			return err
		}
		if l == nil {
			return fmt.Errorf("nil logger: %w", rechist.ErrInvalidArgument)
		}
		c.logger = l
		return nil
	}
}

// WithWorkers sets how many batches of messages are being stored at once
// (default 8): each worker takes the messages waiting, up to 1,000, and
// stores them with one StoreMany, and the group-commit writer joins the
// workers' batches into one transaction. The broker's limit of
// unacknowledged QoS 1 messages per client (mosquitto's
// max_inflight_messages, 20 by default) bounds how many messages wait;
// without one (0), and for QoS 0 messages, the Recorder holds at most
// 4,000 messages queued plus 1,000 per worker, then Paho stops reading.
func WithWorkers(n int) Option {
	return func(c *config) error {
		if err := c.once("WithWorkers"); err != nil {
			return err
		}
		if n < 1 || n > 65535 {
			return fmt.Errorf("workers must be 1 to 65535, got %d: %w", n, rechist.ErrInvalidArgument)
		}
		c.workers = n
		return nil
	}
}

// WithConnectionEvents calls fn (on a goroutine of the Recorder's, one
// call at a time) when the Recorder connects, loses its connection, or
// fails to connect and will try again, instead of logging it.
func WithConnectionEvents(fn func(Event)) Option {
	return func(c *config) error {
		if err := c.once("WithConnectionEvents"); err != nil {
			return err
		}
		if fn == nil {
			return fmt.Errorf("nil connection event function: %w", rechist.ErrInvalidArgument)
		}
		c.onConnect = fn
		return nil
	}
}

// WithMaxBackoff sets the longest wait between two connection attempts
// (default 30s; the first retry comes after 250 ms, doubling).
func WithMaxBackoff(d time.Duration) Option {
	return func(c *config) error {
		if err := c.once("WithMaxBackoff"); err != nil {
			return err
		}
		if d <= 0 {
			return fmt.Errorf("max backoff must be positive, got %v: %w", d, rechist.ErrInvalidArgument)
		}
		c.maxBackoff = d
		return nil
	}
}

// EventKind says what happened to the connection.
type EventKind int

const (
	// Connected: the broker accepted the connection.
	Connected EventKind = iota + 1
	// Lost: an established connection ended.
	Lost
	// Failed: a connection attempt failed; the next comes after Event.Retry.
	Failed
)

// Event is a change of the connection.
type Event struct {
	Kind EventKind
	// Broker is the broker's address, without a password.
	Broker string
	// SessionPresent (Connected) says the broker kept the session of an
	// earlier connection: messages published meanwhile are delivered.
	SessionPresent bool
	// Err is why the connection was lost or could not be made.
	Err error
	// Retry is the wait before the next attempt (Failed, Lost). It doubles
	// from 250 ms up to WithMaxBackoff's limit, and starts again from
	// 250 ms after a connection that lasted 10 s.
	Retry time.Duration
}
