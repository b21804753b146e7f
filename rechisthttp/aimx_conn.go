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
	// after timeout.
	write(frame []byte, timeout time.Duration) error
	// close ends the connection, saying why where the transport can and
	// reason is not empty.
	close(reason string)
}

// wsConn carries one frame per WebSocket text message, without a newline,
// as upstream's WebSocket transport does (design 047 §4, phase 2).
type wsConn struct{ c *websocket.Conn }

func (w wsConn) read(ctx context.Context) ([]byte, error) {
	_, b, err := w.c.Read(ctx)
	return b, err
}

func (w wsConn) write(frame []byte, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return w.c.Write(ctx, websocket.MessageText, frame)
}

// close says why with a close frame (and waits a moment for the client's)
// when there is a reason to tell; without one it only cuts the connection.
func (w wsConn) close(reason string) {
	if reason == "" {
		_ = w.c.CloseNow()
		return
	}
	_ = w.c.Close(websocket.StatusGoingAway, reason)
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
	c        net.Conn
	r        *bufio.Reader
	maxFrame int
	detected bool
	prefixed bool
	once     sync.Once
}

func newStreamConn(c net.Conn, maxFrame int) *streamConn {
	return &streamConn{c: c, r: bufio.NewReaderSize(c, 64<<10), maxFrame: maxFrame}
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
		if uint64(n) > uint64(s.maxFrame) {
			return nil, fmt.Errorf("%w: %d bytes, at most %d are taken", errFrameTooLarge, n, s.maxFrame)
		}
		b := make([]byte, n)
		_, err := io.ReadFull(s.r, b)
		return b, err
	}
	var line []byte
	for {
		part, err := s.r.ReadSlice('\n')
		if len(line)+len(part) > s.maxFrame+2 { // the frame, "\r\n"
			return nil, fmt.Errorf("%w: a line of more than %d bytes", errFrameTooLarge, s.maxFrame)
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
	if err := s.c.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	var hdr [4]byte
	bufs := net.Buffers{frame, newline}
	if s.prefixed {
		binary.BigEndian.PutUint32(hdr[:], uint32(len(frame)))
		bufs = net.Buffers{hdr[:], frame}
	}
	_, err := bufs.WriteTo(s.c)
	return err
}

var newline = []byte{'\n'}

func (s *streamConn) close(string) { s.once.Do(func() { _ = s.c.Close() }) }
