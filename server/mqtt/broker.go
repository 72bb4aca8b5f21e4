package mqtt

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kiruna-twin/kiruna-twin/server/connlimit"
	"github.com/kiruna-twin/kiruna-twin/twin/live"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/prometheus/client_golang/prometheus"
)

// Config is what a Broker serves.
type Config struct {
	// Store takes the readings (Validate, Ingest) and tells the states
	// (Listen). Required.
	Store *live.Store
	// Tenants checks a company's token (the password). Without it no
	// company can connect.
	Tenants live.Authenticator
	// StateJSON encodes a sensor's state as the REST API does (the
	// payload of a state topic). Required.
	StateJSON func(b []byte, st live.SensorState) []byte
	// AllowWrite takes one write from company's bucket, the one its HTTP
	// writes take from too; retry is how long until the next when refused.
	// Nil: no per-company rate.
	AllowWrite func(company string) (retry time.Duration, ok bool)
	// Admit is asked before a company's readings are ingested, with how
	// many there are: the hook for per-company quotas. An error refuses the
	// message (quota exceeded). Nil: no quota.
	Admit func(company string, readings int) error
	// Registry receives the broker's metrics; none when nil.
	Registry prometheus.Registerer
	Logger   *slog.Logger
	// Clock gives the time of a reading that has none (time.Now when nil).
	Clock func() time.Time
	// Tick is how often changed states are published (100 ms when zero):
	// a sensor that changes several times within a tick is published once.
	Tick   time.Duration
	Limits Limits
}

// Limits bound what connections, companies and addresses may do. Zero
// values mean the defaults named.
type Limits struct {
	// ConnRate is the messages a second one connection may publish (20),
	// ConnBurst how many at once above it (5 seconds' worth, at least 10).
	ConnRate  float64
	ConnBurst int
	// MaxPayload is the largest payload of a message, in bytes (64 KiB).
	MaxPayload int
	// PerCompany is how many connections one company may hold (100).
	PerCompany int
	// PerAddr is how many connections one address may hold (256; see
	// connlimit.Key).
	PerAddr int
	// MaxConns is how many connections may be open in all (no bound).
	MaxConns int
	// SessionExpiry is the longest a disconnected persistent session is
	// kept, with its subscriptions and queued messages (1 h).
	SessionExpiry time.Duration
	// Inflight is how many QoS 1 and 2 messages of one connection may
	// wait for their acknowledgement (256); the client is told it in
	// CONNACK (receive maximum) and reading from it pauses beyond.
	Inflight int
}

func (l Limits) withDefaults() Limits {
	if l.ConnRate <= 0 {
		l.ConnRate = 20
	}
	if l.ConnBurst <= 0 {
		l.ConnBurst = max(10, int(5*l.ConnRate))
	}
	if l.MaxPayload <= 0 {
		l.MaxPayload = 64 << 10
	}
	if l.PerCompany <= 0 {
		l.PerCompany = 100
	}
	if l.PerAddr <= 0 {
		l.PerAddr = 256
	}
	if l.SessionExpiry <= 0 {
		l.SessionExpiry = time.Hour
	}
	if l.Inflight <= 0 {
		l.Inflight = 256
	}
	return l
}

// connectTimeout bounds how long a new connection may take to send its
// CONNECT (and, with TLS, to shake hands).
const connectTimeout = 10 * time.Second

// Broker is the MQTT listener of the twin. Create it with New, start it
// with Serve, stop it with Close.
type Broker struct {
	cfg     Config
	lim     Limits
	log     *slog.Logger
	srv     *mochi.Server
	m       *metrics
	perAddr *connlimit.Counter
	open    atomic.Int64

	compMu     sync.Mutex
	perCompany map[string]int

	// The in-process device identity (the simulator's): user SystemOwner
	// and a password made at start and kept nowhere.
	systemPass string

	ctx      context.Context // ends with Close: the ingests still running
	cancel   context.CancelFunc
	work     sync.WaitGroup
	states   *statePublisher
	addr     net.Addr
	closeMu  sync.Mutex
	isClosed bool
}

// New prepares a broker; nothing listens until Serve.
func New(cfg Config) (*Broker, error) {
	if cfg.Store == nil || cfg.StateJSON == nil {
		return nil, errors.New("mqtt: Config.Store and Config.StateJSON are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Tick <= 0 {
		cfg.Tick = 100 * time.Millisecond
	}
	lim := cfg.Limits.withDefaults()
	var raw [24]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, err
	}
	b := &Broker{cfg: cfg, lim: lim, log: cfg.Logger.With("mqtt", true), m: newMetrics(),
		perAddr: connlimit.NewCounter(lim.PerAddr), perCompany: map[string]int{},
		systemPass: base64.RawURLEncoding.EncodeToString(raw[:])}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.states = newStates(b)
	caps := mochi.NewDefaultServerCapabilities()
	caps.MaximumSessionExpiryInterval = uint32(lim.SessionExpiry / time.Second)
	caps.MaximumPacketSize = uint32(lim.MaxPayload + 4<<10) // room for the topic and properties
	caps.ReceiveMaximum = uint16(min(lim.Inflight, 65535))
	caps.MaximumInflight = 1024
	caps.MaximumClientWritesPending = 256 // a channel of this many per connection
	caps.MaximumMessageExpiryInterval = int64(lim.SessionExpiry / time.Second)
	caps.SharedSubAvailable = 0
	b.srv = mochi.New(&mochi.Options{
		Capabilities: caps,
		// mochi's own lines are about its life and its packets: warnings
		// and errors only (the broker logs what a company needs to know).
		Logger:                   slog.New(minLevel{cfg.Logger.Handler(), slog.LevelWarn}),
		InlineClient:             true,
		ClientNetWriteBufferSize: 2 << 10,
		ClientNetReadBufferSize:  2 << 10,
	})
	if err := b.srv.AddHook(&hook{b: b}, nil); err != nil {
		return nil, err
	}
	b.m.register(cfg.Registry, func() float64 { return float64(b.open.Load()) })
	return b, nil
}

// Serve listens on ln (with TLS when tlsConf is not nil) and starts the
// broker and the publishing of states. It returns at once.
func (b *Broker) Serve(ln net.Listener, tlsConf *tls.Config) error {
	var l net.Listener = &listener{Listener: ln, b: b}
	if tlsConf != nil {
		l = tls.NewListener(l, tlsConf)
	}
	b.addr = ln.Addr()
	if err := b.srv.AddListener(listeners.NewNet("mqtt", l)); err != nil {
		return err
	}
	if err := b.srv.Serve(); err != nil {
		return err
	}
	b.states.start()
	return nil
}

// Addr is where the broker listens (after Serve).
func (b *Broker) Addr() net.Addr { return b.addr }

// SystemCredentials are the user and password of the in-process device
// that publishes the scene's own sensors (live.SystemOwner): the
// simulator's, when it speaks MQTT. The password is made at New and never
// leaves the process.
func (b *Broker) SystemCredentials() (user, pass string) { return live.SystemOwner, b.systemPass }

// Close disconnects every client, waits for the readings in hand to be
// written and stops publishing states. Call it before closing the store.
func (b *Broker) Close() error {
	b.closeMu.Lock()
	defer b.closeMu.Unlock()
	if b.isClosed {
		return nil
	}
	b.isClosed = true
	err := b.srv.Close()
	b.work.Wait()
	b.cancel()
	b.states.stop()
	return err
}

// listener counts connections and gives each a deadline for its CONNECT.
type listener struct {
	net.Listener
	b *Broker
}

func (l *listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if m := l.b.lim.MaxConns; m > 0 && l.b.open.Load() >= int64(m) {
			l.b.m.connRefused.WithLabelValues("full").Inc()
			_ = c.Close()
			continue
		}
		l.b.open.Add(1)
		_ = c.SetDeadline(time.Now().Add(connectTimeout))
		return &conn{Conn: c, b: l.b, addr: addrOf(c.RemoteAddr())}, nil
	}
}

// conn is one client's connection: the session of the company on it, and
// the places it holds (per address, per company), given back at Close.
type conn struct {
	net.Conn
	b    *Broker
	addr netip.Addr

	sess     atomic.Pointer[session]
	mu       sync.Mutex
	releases []func()
	closed   bool
}

func (c *conn) hold(release func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		release()
		return
	}
	c.releases = append(c.releases, release)
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.mu.Lock()
	rs := c.releases
	first := !c.closed
	c.closed, c.releases = true, nil
	c.mu.Unlock()
	if first {
		for _, r := range rs {
			r()
		}
		c.b.open.Add(-1)
	}
	return err
}

func addrOf(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// connOf finds the connection under a client (nil for the inline client).
func connOf(cl *mochi.Client) *conn {
	c := cl.Net.Conn
	if t, ok := c.(*tls.Conn); ok {
		c = t.NetConn()
	}
	x, _ := c.(*conn)
	return x
}

// holdCompany takes one of company's connection places.
func (b *Broker) holdCompany(company string) (release func(), ok bool) {
	b.compMu.Lock()
	defer b.compMu.Unlock()
	if b.perCompany[company] >= b.lim.PerCompany {
		return nil, false
	}
	b.perCompany[company]++
	var once sync.Once
	return func() {
		once.Do(func() {
			b.compMu.Lock()
			defer b.compMu.Unlock()
			if b.perCompany[company]--; b.perCompany[company] <= 0 {
				delete(b.perCompany, company)
			}
		})
	}, true
}

// minLevel drops records below a level.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

// Handle drops mochi's listener lines with no message: one for each
// connection that ends with an error (a refused CONNECT among them),
// which the broker counts and logs itself, at most once a second.
func (h minLevel) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "" {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(as), h.min}
}
func (h minLevel) WithGroup(g string) slog.Handler { return minLevel{h.Handler.WithGroup(g), h.min} }
