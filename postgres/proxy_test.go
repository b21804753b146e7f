package postgres_test

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"
)

// commitProxy forwards PostgreSQL connections to the server and, when
// armed, loses the connection of the next COMMIT: "after" forwards the
// COMMIT to the server, waits for it to be done, and closes the connection
// before the reply reaches the client (the commit happened, the client
// cannot know); "before" closes it without forwarding the COMMIT (the
// server rolls back). While refusing, it closes new connections at once.
type commitProxy struct {
	ln     net.Listener
	target string

	mu       sync.Mutex
	mode     string // "", "after", "before"
	skip     int    // commits to let through before the armed one
	refusing bool
	dropped  int
	conns    sync.WaitGroup
}

func startCommitProxy(t *testing.T, serverURL string) (*commitProxy, string) {
	t.Helper()
	u, err := url.Parse(serverURL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &commitProxy{ln: ln, target: u.Host}
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.conns.Wait()
	})
	u.Host = ln.Addr().String()
	return p, u.String()
}

func (p *commitProxy) arm(mode string) { p.armAfter(mode, 0) }

// armAfter arms the proxy for the commit after the next skip ones.
func (p *commitProxy) armAfter(mode string, skip int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode, p.skip = mode, skip
}

func (p *commitProxy) refuse(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refusing = on
}

func (p *commitProxy) droppedCommits() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dropped
}

func (p *commitProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refusing := p.refusing
		p.mu.Unlock()
		if refusing {
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.conns.Add(2)
		var blackhole sync.Mutex // held while the server's replies must not reach the client
		go func() {
			defer p.conns.Done()
			p.clientToServer(c, s, &blackhole)
		}()
		go func() {
			defer p.conns.Done()
			buf := make([]byte, 32<<10)
			for {
				n, err := s.Read(buf)
				if n > 0 {
					blackhole.Lock()
					_, werr := c.Write(buf[:n])
					blackhole.Unlock()
					if werr != nil {
						break
					}
				}
				if err != nil {
					break
				}
			}
			c.Close()
			s.Close()
		}()
	}
}

// clientToServer forwards the client's messages, reading them one by one
// to find a COMMIT: a simple-protocol one, the Bind of a statement whose
// Parse was COMMIT (a COMMIT sent in a pipeline, whose effect comes with
// the next Sync), or a Sync after an Execute and a Flush (the commit of
// an implicit transaction, commitInserts).
func (p *commitProxy) clientToServer(c, s net.Conn, blackhole *sync.Mutex) {
	defer c.Close()
	defer s.Close()
	// The startup message has no type byte.
	var n [4]byte
	if _, err := io.ReadFull(c, n[:]); err != nil {
		return
	}
	body := make([]byte, binary.BigEndian.Uint32(n[:])-4)
	if _, err := io.ReadFull(c, body); err != nil {
		return
	}
	if _, err := s.Write(append(n[:], body...)); err != nil {
		return
	}
	commits := map[string]bool{} // prepared statements that are a COMMIT
	dropAtSync := false
	executed, flushed := false, false // since the last Sync: an Execute; a Flush after one
	for {
		var hdr [5]byte
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return
		}
		body := make([]byte, binary.BigEndian.Uint32(hdr[1:])-4)
		if _, err := io.ReadFull(c, body); err != nil {
			return
		}
		msg := append(hdr[:], body...)
		if dropAtSync && hdr[0] == 'S' {
			blackhole.Lock() // the reply must not reach the client
			_, _ = s.Write(msg)
			time.Sleep(300 * time.Millisecond) // the server commits meanwhile
			c.Close()
			s.Close()
			blackhole.Unlock()
			return
		}
		commit := false
		switch hdr[0] {
		case 'E':
			executed = true
		case 'H': // a Flush after an Execute: the statement's answer, the transaction left open
			flushed = executed
		case 'S': // the Sync that ends such a transaction commits it (commitInserts)
			commit, executed, flushed = flushed, false, false
		case 'Q':
			commit = bytes.EqualFold(bytes.TrimRight(body, "\x00"), []byte("commit"))
		case 'P': // statement name, query text
			parts := bytes.SplitN(body, []byte{0}, 3)
			commits[string(parts[0])] = len(parts) > 1 && bytes.EqualFold(bytes.TrimSpace(parts[1]), []byte("commit"))
		case 'B': // portal name, statement name
			parts := bytes.SplitN(body, []byte{0}, 3)
			commit = len(parts) > 1 && commits[string(parts[1])]
		}
		if commit {
			p.mu.Lock()
			mode := p.mode
			switch {
			case mode != "" && p.skip > 0:
				p.skip--
				mode = ""
			case mode != "":
				p.mode = ""
				p.dropped++
			}
			p.mu.Unlock()
			switch {
			case mode == "before":
				return // the COMMIT never reaches the server
			case mode == "after" && (hdr[0] == 'Q' || hdr[0] == 'S'):
				blackhole.Lock() // the reply must not reach the client
				_, _ = s.Write(msg)
				time.Sleep(300 * time.Millisecond) // the server commits meanwhile
				c.Close()
				s.Close()
				blackhole.Unlock()
				return
			case mode == "after":
				dropAtSync = true // forward the pipeline up to its Sync, then drop
			}
		}
		if _, err := s.Write(msg); err != nil {
			return
		}
	}
}
