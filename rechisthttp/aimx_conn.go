package rechisthttp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// aimxConn is one AimX connection's transport: it carries whole frames.
// read is called by one goroutine, write by one at a time (the session
// holds its write lock), close by any, any number of times.
type aimxConn interface {
	// read returns the next frame from the client.
	read(ctx context.Context) ([]byte, error)
	// write sends one frame, giving up (and breaking the connection)
	// when a part of it stays blocked for timeout: as serve's
	// --write-timeout, a slow but steady reader is served.
	write(frame []byte, timeout time.Duration) error
	// close ends the connection, saying why where the transport can and
	// reason is not empty.
	close(reason string)
}

// wsConn carries one frame per WebSocket text message, without a newline,
// as upstream's WebSocket transport does (design 047 §4, phase 2).
type wsConn struct {
	c    *websocket.Conn
	once sync.Once // the first close decides: a close frame saying why is not cut by a later bare close
}

func (w *wsConn) read(ctx context.Context) ([]byte, error) {
	_, b, err := w.c.Read(ctx)
	return b, err
}

// aimxWriteChunk is how much of a frame is written at a time: each part
// gets the whole write timeout, so a large reply to a slow but steady
// reader is not cut.
const aimxWriteChunk = 32 << 10

func (w *wsConn) write(frame []byte, timeout time.Duration) error {
	if len(frame) <= aimxWriteChunk {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return w.c.Write(ctx, websocket.MessageText, frame)
	}
	// A watchdog ends the write when no part went out for timeout.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dog := time.AfterFunc(timeout, cancel)
	defer dog.Stop()
	mw, err := w.c.Writer(ctx, websocket.MessageText)
	if err != nil {
		return err
	}
	for len(frame) > 0 {
		n := min(len(frame), aimxWriteChunk)
		if _, err := mw.Write(frame[:n]); err != nil {
			return err
		}
		frame = frame[n:]
		if !dog.Reset(timeout) {
			return context.DeadlineExceeded // the watchdog fired already
		}
	}
	return mw.Close()
}

// close says why with a close frame (and waits a moment for the client's)
// when there is a reason to tell; without one it only cuts the connection.
func (w *wsConn) close(reason string) {
	w.once.Do(func() {
		if reason == "" {
			_ = w.c.CloseNow()
			return
		}
		_ = w.c.Close(websocket.StatusGoingAway, reason)
	})
}

// streamConn carries frames over a byte stream (a Unix socket or TCP) in
// one of upstream's two framings, chosen by the client's first byte:
//
//   - newline-delimited JSON, one frame a line (aimdb-uds-connector's
//     src/transport.rs): a frame begins with '{' or white space;
//   - a big-endian u32 payload length, then the payload
//     (aimdb-tcp-connector's src/framing.rs): the first byte of a length
//     under 16 MiB is 0.
//
// Replies use the framing the client chose.
type streamConn struct {
	c net.Conn
	r *bufio.Reader
	// maxFrame is the largest frame taken from an authenticated client,
	// limit the largest taken now (aimxMaxUnauthFrame until hello's
	// auth_token matched). Both are read and written by the read
	// goroutine only (hello is answered there).
	maxFrame, limit int
	detected        bool
	prefixed        bool
	once            sync.Once
}

func newStreamConn(c net.Conn, maxFrame int) *streamConn {
	return &streamConn{c: c, r: bufio.NewReaderSize(c, 64<<10), maxFrame: maxFrame, limit: maxFrame}
}

// aimxMaxUnauthFrame is the largest frame a socket client may send before
// it is authenticated: upstream's TCP transport caps every frame at
// DEFAULT_MAX_FRAME, 64 KiB (aimdb-tcp-connector src/framing.rs at
// 0348e9f), which is plenty for hello.
const aimxMaxUnauthFrame = 64 << 10

// aimxHelloTimeout is how long a socket client that must authenticate
// may take to do so (hello with the right auth_token); then the
// connection is cut, so that idle strangers cannot hold the listener's
// aimxMaxConns places.
const aimxHelloTimeout = 10 * time.Second

// guard holds the connection to unauthenticated limits: frames of at
// most aimxMaxUnauthFrame, and authentication within timeout.
func (s *streamConn) guard(timeout time.Duration) {
	s.limit = min(s.maxFrame, aimxMaxUnauthFrame)
	_ = s.c.SetReadDeadline(time.Now().Add(timeout))
}

// admit lifts guard's limits once the client authenticated.
func (s *streamConn) admit() {
	s.limit = s.maxFrame
	_ = s.c.SetReadDeadline(time.Time{})
}

// errFrameTooLarge ends a connection whose client sent a frame larger than
// the handler takes (WithMaxBodyBytes): neither framing can skip it safely.
var errFrameTooLarge = errors.New("aimx: frame too large")

func (s *streamConn) read(context.Context) ([]byte, error) {
	if !s.detected {
		first, err := s.r.Peek(1)
		if err != nil {
			return nil, err
		}
		s.detected, s.prefixed = true, first[0] == 0
	}
	if s.prefixed {
		var hdr [4]byte
		if _, err := io.ReadFull(s.r, hdr[:]); err != nil {
			return nil, err
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if uint64(n) > uint64(s.limit) {
			return nil, fmt.Errorf("%w: %d bytes, at most %d are taken", errFrameTooLarge, n, s.limit)
		}
		// The payload is read as it arrives: a declared length alone
		// allocates nothing (bytes.Buffer grows with what was read).
		var b bytes.Buffer
		if _, err := io.CopyN(&b, s.r, int64(n)); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		return b.Bytes(), nil
	}
	var line []byte
	for {
		part, err := s.r.ReadSlice('\n')
		if len(line)+len(part) > s.limit+2 { // the frame, "\r\n"
			return nil, fmt.Errorf("%w: a line of more than %d bytes", errFrameTooLarge, s.limit)
		}
		line = append(line, part...)
		switch {
		case err == nil:
			return bytes.TrimRight(line, "\r\n"), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(line) > 0:
			return line, nil // a last line without its newline
		default:
			return nil, err
		}
	}
}

func (s *streamConn) write(frame []byte, timeout time.Duration) error {
	var hdr [4]byte
	head, tail := []byte(nil), newline
	if s.prefixed {
		binary.BigEndian.PutUint32(hdr[:], uint32(len(frame)))
		head, tail = hdr[:], nil
	}
	// The deadline moves on with each part written: it bounds a stall,
	// not the whole frame.
	for first := true; first || len(frame) > 0; first = false {
		if err := s.c.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
			return err
		}
		n := min(len(frame), aimxWriteChunk)
		bufs := net.Buffers{frame[:n]}
		if first {
			bufs = net.Buffers{head, frame[:n]}
		}
		if n == len(frame) {
			bufs = append(bufs, tail)
		}
		if _, err := bufs.WriteTo(s.c); err != nil {
			return err
		}
		frame = frame[n:]
	}
	return nil
}

var newline = []byte{'\n'}

func (s *streamConn) close(string) { s.once.Do(func() { _ = s.c.Close() }) }
