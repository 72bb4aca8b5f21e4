package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// wsConn is the load clients' own WebSocket client, reduced to what they
// do: one handshake, text frames out, whole text frames in, pings
// answered. The clients share the machine with the server they measure,
// so they read as cheaply as they can: one buffered reader and one
// reused buffer per connection, and no other copy.
type wsConn struct {
	conn net.Conn
	r    *bufio.Reader
	buf  []byte
	wmu  sync.Mutex
}

// closeError is the close frame that ended a connection.
type closeError struct {
	code   int
	reason string
}

func (e *closeError) Error() string {
	return fmt.Sprintf("closed by the server: %d %s", e.code, e.reason)
}

// dialWS opens ws://addr/path.
func dialWS(ctx context.Context, addr, path string) (*wsConn, error) {
	d := net.Dialer{Timeout: 30 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", path, addr, key); err != nil {
		conn.Close()
		return nil, err
	}
	r := bufio.NewReaderSize(conn, 8192)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		conn.Close()
		return nil, fmt.Errorf("handshake: %s", resp.Status)
	}
	_ = conn.SetDeadline(time.Time{})
	return &wsConn{conn: conn, r: r}, nil
}

// writeFrame sends one whole frame, masked as a client's must be.
func (w *wsConn) writeFrame(op byte, p []byte) error {
	mask := [4]byte{0x6b, 0x69, 0x72, 0x75}
	b := []byte{0x80 | op}
	switch n := len(p); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xFFFF:
		b = binary.BigEndian.AppendUint16(append(b, 0x80|126), uint16(n))
	default:
		b = binary.BigEndian.AppendUint64(append(b, 0x80|127), uint64(n))
	}
	b = append(b, mask[:]...)
	for i, c := range p {
		b = append(b, c^mask[i%4])
	}
	w.wmu.Lock()
	defer w.wmu.Unlock()
	_, err := w.conn.Write(b)
	return err
}

// next returns the payload of the next text or binary message, valid
// until the following call; it answers pings, and a close frame ends it
// with a *closeError.
func (w *wsConn) next() ([]byte, error) {
	for {
		var h [8]byte
		if _, err := io.ReadFull(w.r, h[:2]); err != nil {
			return nil, err
		}
		op, fin, n := h[0]&0x0F, h[0]&0x80 != 0, uint64(h[1]&0x7F)
		if h[1]&0x80 != 0 {
			return nil, errors.New("a masked frame from the server")
		}
		switch n {
		case 126:
			if _, err := io.ReadFull(w.r, h[:2]); err != nil {
				return nil, err
			}
			n = uint64(binary.BigEndian.Uint16(h[:2]))
		case 127:
			if _, err := io.ReadFull(w.r, h[:8]); err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(h[:8])
		}
		if n > 64<<20 {
			return nil, fmt.Errorf("a frame of %d bytes", n)
		}
		if !fin {
			return nil, errors.New("a fragmented message (the server sends every message whole)")
		}
		if uint64(cap(w.buf)) < n {
			w.buf = make([]byte, n)
		}
		p := w.buf[:n]
		if _, err := io.ReadFull(w.r, p); err != nil {
			return nil, err
		}
		switch op {
		case 0x1, 0x2:
			return p, nil
		case 0x8:
			e := &closeError{code: 1005}
			if len(p) >= 2 {
				e.code, e.reason = int(binary.BigEndian.Uint16(p)), string(p[2:])
			}
			return nil, e
		case 0x9:
			if err := w.writeFrame(0xA, p); err != nil {
				return nil, err
			}
		case 0xA:
		default:
			return nil, fmt.Errorf("a frame with opcode %d", op)
		}
	}
}

func (w *wsConn) Close() error { return w.conn.Close() }
