// Package mqtttest starts a throwaway Mosquitto broker for tests: Debian's
// /usr/sbin/mosquitto on a free loopback port, with a generated config in
// the test's temporary directory, as .ci/postgres.sh does for PostgreSQL.
// Without mosquitto the tests skip, unless RECHIST_TEST_MQTT_REQUIRED is
// set, as in CI, when they fail.
package mqtttest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Config is what the broker is started with.
type Config struct {
	// Users are user names and passwords; when set, anonymous clients are
	// refused.
	Users map[string]string
	// TLS adds a second listener with a certificate for 127.0.0.1 and
	// localhost signed by a test CA (Broker.CAFile).
	TLS bool
	// MaxInflight is mosquitto's max_inflight_messages (0: its default,
	// 20; -1: no limit).
	MaxInflight int
	// MaxQueued is mosquitto's max_queued_messages (0: no limit, as a
	// recorder's broker should be set; -1: mosquitto's default, 1000).
	MaxQueued int
}

// Broker is a running mosquitto.
type Broker struct {
	// Port and TLSPort are the loopback ports (TLSPort is 0 without TLS).
	Port, TLSPort int
	// Dir holds the config, the persistence file and the log.
	Dir string
	// CAFile is the test CA's certificate (PEM), with Config.TLS.
	CAFile string

	bin  string
	conf string
	cmd  *exec.Cmd
	done chan struct{}
}

// Binary returns mosquitto's path, or skips the test (fails it when
// RECHIST_TEST_MQTT_REQUIRED is set).
func Binary(t testing.TB) string {
	t.Helper()
	if p := Find(); p != "" {
		return p
	}
	if os.Getenv("RECHIST_TEST_MQTT_REQUIRED") != "" {
		t.Fatal("mosquitto is not installed but RECHIST_TEST_MQTT_REQUIRED is set (apt-get install mosquitto mosquitto-clients)")
	}
	t.Skip("MQTT not tested: mosquitto is not installed (apt-get install mosquitto mosquitto-clients)")
	return ""
}

// Start starts a broker that is stopped when the test ends.
func Start(t testing.TB, c Config) *Broker {
	t.Helper()
	bin := Binary(t)
	b, err := StartBroker(bin, t.TempDir(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Error(err)
		}
	})
	return b
}

// Find returns mosquitto's path, or "" when it is not installed.
func Find() string {
	for _, p := range []string{"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p
	}
	return ""
}

// StartBroker starts the mosquitto at bin with its files in dir (for
// programs, such as the bench; tests call Start). Close stops it.
func StartBroker(bin, dir string, c Config) (*Broker, error) {
	b := &Broker{Dir: dir, bin: bin}
	var extra strings.Builder
	if len(c.Users) > 0 {
		pw := filepath.Join(b.Dir, "passwd")
		for u, p := range c.Users {
			args := []string{"-b", pw, u, p}
			if _, err := os.Stat(pw); err != nil {
				args = append([]string{"-c"}, args...)
			}
			if out, err := exec.Command("mosquitto_passwd", args...).CombinedOutput(); err != nil {
				return nil, fmt.Errorf("mosquitto_passwd: %v\n%s", err, out)
			}
		}
		fmt.Fprintf(&extra, "allow_anonymous false\npassword_file %s\n", pw)
	} else {
		extra.WriteString("allow_anonymous true\n")
	}
	switch {
	case c.MaxInflight > 0:
		fmt.Fprintf(&extra, "max_inflight_messages %d\n", c.MaxInflight)
	case c.MaxInflight < 0:
		extra.WriteString("max_inflight_messages 0\n")
	}
	queue := "max_queued_messages 0\n"
	switch {
	case c.MaxQueued > 0:
		queue = fmt.Sprintf("max_queued_messages %d\n", c.MaxQueued)
	case c.MaxQueued < 0:
		queue = ""
	}
	var certs [3]string
	if c.TLS {
		ca, cert, key, err := writeCerts(b.Dir)
		if err != nil {
			return nil, err
		}
		b.CAFile, certs = ca, [3]string{ca, cert, key}
	}
	// A port free a moment ago may be taken before mosquitto binds it:
	// try other ports when it cannot listen.
	var err error
	for try := 0; ; try++ {
		if err = b.configure(c.TLS, certs, queue, extra.String()); err != nil {
			return nil, err
		}
		if err = b.start(); err == nil || try == 4 || !strings.Contains(err.Error(), "in use") {
			return b, err
		}
	}
}

// configure picks free ports and writes the config.
func (b *Broker) configure(withTLS bool, certs [3]string, queue, extra string) error {
	var err error
	var tlsListener string
	if withTLS {
		if b.TLSPort, err = freePort(); err != nil {
			return err
		}
		tlsListener = fmt.Sprintf("listener %d 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\n", b.TLSPort, certs[0], certs[1], certs[2])
	}
	if b.Port, err = freePort(); err != nil {
		return err
	}
	b.conf = filepath.Join(b.Dir, "mosquitto.conf")
	// max_queued_messages 0: a recorder that is down for a while must not
	// lose what it missed (mosquitto's default keeps 1000 per client).
	// "user root" keeps a broker started by root able to read its files.
	conf := fmt.Sprintf("user root\npersistence true\npersistence_location %s/\nautosave_interval 1\n"+
		"log_dest file %s\nlog_type error\nlog_type warning\nlog_type notice\n%s%s"+
		"listener %d 127.0.0.1\n%s",
		b.Dir, filepath.Join(b.Dir, "mosquitto.log"), queue, extra, b.Port, tlsListener)
	return os.WriteFile(b.conf, []byte(conf), 0o600)
}

// URL is the broker's mqtt:// URL, with user and password when given.
func (b *Broker) URL(user, password string) string {
	return brokerURL("mqtt", user, password, b.Port)
}

// TLSURL is the broker's mqtts:// URL (Config.TLS).
func (b *Broker) TLSURL(user, password string) string {
	return brokerURL("mqtts", user, password, b.TLSPort)
}

func brokerURL(scheme, user, password string, port int) string {
	cred := ""
	if user != "" {
		cred = user
		if password != "" {
			cred += ":" + password
		}
		cred += "@"
	}
	return fmt.Sprintf("%s://%s127.0.0.1:%d", scheme, cred, port)
}

// Addr is the plain listener's host:port.
func (b *Broker) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(b.Port)) }

func (b *Broker) start() error {
	b.cmd = exec.Command(b.bin, "-c", b.conf)
	DieWithParent(b.cmd)
	if err := b.cmd.Start(); err != nil {
		b.cmd = nil
		return fmt.Errorf("start mosquitto: %w", err)
	}
	b.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(b.cmd, b.done)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		c, err := net.DialTimeout("tcp", b.Addr(), time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-b.done:
			b.cmd = nil
			return fmt.Errorf("mosquitto exited at start; its log:\n%s", b.Log())
		case <-ctx.Done():
			_ = b.Close()
			return fmt.Errorf("mosquitto did not listen on %s within 10s; its log:\n%s", b.Addr(), b.Log())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Close stops the broker (SIGTERM: it saves its persistence file) and
// waits for it, at most 10 seconds, then kills it. Closing a stopped
// broker does nothing.
func (b *Broker) Close() error {
	if b.cmd == nil {
		return nil
	}
	defer func() { b.cmd = nil }()
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.done:
		return nil
	case <-time.After(10 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.done
		return errors.New("mosquitto did not stop within 10s of SIGTERM; killed")
	}
}

// Restart stops the broker and starts it again on the same ports, with
// its sessions and queued messages (persistence).
func (b *Broker) Restart(t testing.TB) {
	t.Helper()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.start(); err != nil {
		t.Fatal(err)
	}
}

// Log is what the broker logged.
func (b *Broker) Log() string {
	out, _ := os.ReadFile(filepath.Join(b.Dir, "mosquitto.log"))
	return string(out)
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Message is one message to publish.
type Message struct {
	Topic    string
	Payload  []byte
	Retained bool
}

// Publish connects to rawURL's broker (mqtt://host:port, no TLS) as a
// client of its own, publishes msgs with QoS 1 in order, waits for each to
// be acknowledged (at most 10 seconds in all) and disconnects.
func Publish(t testing.TB, addr string, msgs ...Message) {
	t.Helper()
	o := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(fmt.Sprintf("pub-%d", time.Now().UnixNano())).
		SetAutoReconnect(false)
	c := paho.NewClient(o)
	deadline := time.Now().Add(10 * time.Second)
	if tok := c.Connect(); !tok.WaitTimeout(time.Until(deadline)) || tok.Error() != nil {
		t.Fatalf("publisher: connect to %s: %v", addr, tok.Error())
	}
	defer c.Disconnect(100)
	toks := make([]paho.Token, len(msgs))
	for i, m := range msgs {
		toks[i] = c.Publish(m.Topic, 1, m.Retained, m.Payload)
	}
	for i, tok := range toks {
		if !tok.WaitTimeout(time.Until(deadline)) {
			t.Fatalf("publisher: %s not acknowledged within 10s", msgs[i].Topic)
		}
		if err := tok.Error(); err != nil {
			t.Fatalf("publisher: %s: %v", msgs[i].Topic, err)
		}
	}
}
