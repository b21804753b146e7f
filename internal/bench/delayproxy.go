package bench

import (
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"time"
)

// delayProxy forwards TCP connections to a server, holding back every
// chunk of bytes for half the round-trip time it was made with in each
// direction: a WAN between the bench's clients and a local server. Bytes
// keep their order; a chunk is written once its time has come, so a
// stream of chunks is delayed, not slowed.
type delayProxy struct {
	ln     net.Listener
	target string
	oneWay time.Duration
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  []net.Conn
}

// startDelayProxy listens on a free loopback port in front of the server
// of the PostgreSQL URL serverURL and returns the proxy and the same URL
// pointing at it.
func startDelayProxy(serverURL string, rtt time.Duration) (*delayProxy, string, error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return nil, "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	p := &delayProxy{ln: ln, target: u.Host, oneWay: rtt / 2}
	p.wg.Go(p.accept)
	u.Host = ln.Addr().String()
	return p, u.String(), nil
}

func (p *delayProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		p.wg.Go(func() { p.pipe(s, c) })
		p.wg.Go(func() { p.pipe(c, s) })
	}
}

type chunk struct {
	due time.Time
	b   []byte
}

// pipe copies src to dst, each chunk oneWay after it was read.
func (p *delayProxy) pipe(dst, src net.Conn) {
	ch := make(chan chunk, 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for c := range ch {
			time.Sleep(time.Until(c.due))
			if _, err := dst.Write(c.b); err != nil {
				break
			}
		}
		dst.Close()
		for range ch { // let the reader finish
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			ch <- chunk{due: time.Now().Add(p.oneWay), b: append([]byte(nil), buf[:n]...)}
		}
		if err != nil {
			break
		}
	}
	close(ch)
	<-done
}

// Close stops accepting, closes every connection and waits for the pipes.
func (p *delayProxy) Close() error {
	err := p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	if errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) {
		err = nil
	}
	return err
}
