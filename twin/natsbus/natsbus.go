// Package natsbus carries committed changes between the twin's replicas
// over NATS (core publish/subscribe). It promises nothing about delivery:
// a replica that misses a message reads the change from the shared store
// (twin/pgstore), which it does after every reconnection and every gap in
// the numbers it hears. So the bus needs no persistence of its own, and
// NATS restarting loses nothing.
package natsbus

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/kiruna-twin/kiruna-twin/twin/live"
	"github.com/nats-io/nats.go"
)

// DefaultSubject is the subject changes travel on.
const DefaultSubject = "kiruna.changes"

// Options tune a Bus. Only URL is required.
type Options struct {
	URL     string // nats://host:4222 (a comma-separated list for a cluster)
	Subject string // DefaultSubject when empty
	Name    string // the connection's name, as the NATS server shows it
	Logger  *slog.Logger
}

// Bus is a connection to NATS; it reconnects for ever on its own.
type Bus struct {
	nc      *nats.Conn
	subject string
	log     *slog.Logger
	resync  atomic.Pointer[func()]
	sub     *nats.Subscription
	dropped atomic.Uint64
}

var _ live.Bus = (*Bus)(nil)

// Connect connects to NATS. A server that is down is not an error: the bus
// keeps trying, and Connected says false meanwhile.
func Connect(opts Options) (*Bus, error) {
	if opts.Subject == "" {
		opts.Subject = DefaultSubject
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Name == "" {
		opts.Name = "kiruna-twin"
	}
	b := &Bus{subject: opts.Subject, log: opts.Logger}
	nc, err := nats.Connect(opts.URL,
		nats.Name(opts.Name),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.PingInterval(5*time.Second),
		nats.MaxPingsOutstanding(2),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			b.log.Warn("the bus is disconnected; changes are read from the store until it is back", "err", err)
		}),
		nats.ReconnectHandler(func(*nats.Conn) {
			b.log.Info("the bus is reconnected")
			b.kick()
		}),
		nats.ConnectHandler(func(*nats.Conn) { b.kick() }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			// A slow consumer drops messages: read them from the store.
			b.log.Warn("the bus", "err", err)
			b.dropped.Add(1)
			b.kick()
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("connecting to NATS at %s: %w", opts.URL, err)
	}
	b.nc = nc
	return b, nil
}

func (b *Bus) kick() {
	if fn := b.resync.Load(); fn != nil {
		(*fn)()
	}
}

// Publish sends c, best effort (while disconnected, the client buffers a
// few MiB and sends them on reconnection).
func (b *Bus) Publish(c live.Committed) {
	if err := b.nc.Publish(b.subject, Encode(c)); err != nil {
		b.log.Debug("publishing a change", "seq", c.Seq, "err", err)
	}
}

// Listen subscribes; heard gets every change, resync every moment when
// some may have been missed.
func (b *Bus) Listen(heard func(live.Committed), resync func()) error {
	b.resync.Store(&resync)
	sub, err := b.nc.Subscribe(b.subject, func(m *nats.Msg) {
		c, err := Decode(m.Data)
		if err != nil {
			b.log.Warn("a message on the bus that is not a change", "err", err)
			return
		}
		heard(c)
	})
	if err != nil {
		return err
	}
	_ = sub.SetPendingLimits(64<<10, 256<<20)
	b.sub = sub
	return nil
}

// Connected reports whether NATS is reachable now.
func (b *Bus) Connected() bool { return b.nc.IsConnected() }

// Close drains nothing: what is not sent is in the store.
func (b *Bus) Close() error {
	b.nc.Close()
	return nil
}

// The wire form of a change:
//
//	uvarint seq | uint64 token (LE) | kind | uvarint len + stream | uvarint len + origin | flag (1: data follows) | data
const version = 1

var errShort = errors.New("change message too short")

// Encode writes a change in its wire form.
func Encode(c live.Committed) []byte {
	b := make([]byte, 0, 32+len(c.Stream)+len(c.Origin)+len(c.Data))
	b = append(b, version)
	b = binary.AppendUvarint(b, c.Seq)
	b = binary.LittleEndian.AppendUint64(b, c.Token)
	b = append(b, c.Kind)
	b = binary.AppendUvarint(b, uint64(len(c.Stream)))
	b = append(b, c.Stream...)
	b = binary.AppendUvarint(b, uint64(len(c.Origin)))
	b = append(b, c.Origin...)
	if c.Data == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	return append(b, c.Data...)
}

// Decode reads a change written by Encode; anything else is an error.
func Decode(b []byte) (live.Committed, error) {
	var c live.Committed
	if len(b) < 1 || b[0] != version {
		return c, fmt.Errorf("change message: unknown version")
	}
	b = b[1:]
	seq, k := binary.Uvarint(b)
	if k <= 0 || seq == 0 {
		return c, fmt.Errorf("change message: bad number")
	}
	b = b[k:]
	if len(b) < 9 {
		return c, errShort
	}
	c.Seq, c.Token, c.Kind = seq, binary.LittleEndian.Uint64(b), b[8]
	b = b[9:]
	var ok bool
	if c.Stream, b, ok = readString(b); !ok {
		return c, errShort
	}
	if c.Origin, b, ok = readString(b); !ok {
		return c, errShort
	}
	if len(b) < 1 || b[0] > 1 {
		return c, fmt.Errorf("change message: bad data flag")
	}
	if b[0] == 1 {
		c.Data = append([]byte{}, b[1:]...)
	} else if len(b) > 1 {
		return c, fmt.Errorf("change message: trailing bytes")
	}
	return c, nil
}

func readString(b []byte) (string, []byte, bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > 256 || n > uint64(len(b)-k) {
		return "", nil, false
	}
	return string(b[k : k+int(n)]), b[k+int(n):], true
}
