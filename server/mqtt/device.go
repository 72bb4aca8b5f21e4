package mqtt

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/kiruna-twin/kiruna-twin/twin/live"
)

// DeviceConfig is where a Device connects and as whom.
type DeviceConfig struct {
	Addr     string // host:port of the broker
	TLS      *tls.Config
	User     string // the company (or live.SystemOwner, see Broker.SystemCredentials)
	Password string
	ClientID string
}

// Device publishes readings over MQTT as a company's gateway would: each
// sensor's readings as one QoS 1 message (an array, at most
// deviceChunk readings) on its readings topic, waiting for the PUBACK. It
// reconnects when its connection is lost.
type Device struct {
	cfg DeviceConfig
	mu  sync.Mutex
	c   *paho.Client
}

// deviceChunk keeps a message well inside the default payload limit
// (about 60 bytes a reading).
const deviceChunk = 500

// NewDevice prepares a device; it connects at its first Publish.
func NewDevice(cfg DeviceConfig) *Device { return &Device{cfg: cfg} }

func (d *Device) client(ctx context.Context) (*paho.Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.c != nil {
		select {
		case <-d.c.Done():
			d.c = nil
		default:
			return d.c, nil
		}
	}
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", d.cfg.Addr)
	if err != nil {
		return nil, err
	}
	if d.cfg.TLS != nil {
		conn = tls.Client(conn, d.cfg.TLS)
	}
	c := paho.NewClient(paho.ClientConfig{Conn: conn, OnClientError: func(error) {}})
	ca, err := c.Connect(ctx, &paho.Connect{ClientID: d.cfg.ClientID, CleanStart: true, KeepAlive: 60,
		Username: d.cfg.User, UsernameFlag: true, Password: []byte(d.cfg.Password), PasswordFlag: true})
	if err != nil {
		conn.Close()
		if ca != nil {
			return nil, fmt.Errorf("connecting to the MQTT broker at %s: reason %#x %w", d.cfg.Addr, ca.ReasonCode, err)
		}
		return nil, fmt.Errorf("connecting to the MQTT broker at %s: %w", d.cfg.Addr, err)
	}
	d.c = c
	return c, nil
}

// Publish sends rs, grouped by sensor, and returns once every message is
// acknowledged (durable) or the first error.
func (d *Device) Publish(ctx context.Context, rs []live.Reading) error {
	if len(rs) == 0 {
		return nil
	}
	c, err := d.client(ctx)
	if err != nil {
		return err
	}
	bySensor := map[string][]live.Reading{}
	var order []string
	for _, r := range rs {
		if _, ok := bySensor[r.Sensor]; !ok {
			order = append(order, r.Sensor)
		}
		bySensor[r.Sensor] = append(bySensor[r.Sensor], r)
	}
	var buf bytes.Buffer
	for _, id := range order {
		all := bySensor[id]
		for i := 0; i < len(all); i += deviceChunk {
			buf.Reset()
			AppendReadings(&buf, all[i:min(i+deviceChunk, len(all))])
			pr, err := c.Publish(ctx, &paho.Publish{Topic: ReadingsTopic(d.cfg.User, id), QoS: 1, Payload: bytes.Clone(buf.Bytes())})
			if err != nil {
				if pr != nil {
					return fmt.Errorf("publishing %s: reason %#x: %w", id, pr.ReasonCode, err)
				}
				return fmt.Errorf("publishing %s: %w", id, err)
			}
		}
	}
	return nil
}

// AppendReadings writes readings as a payload DecodeReadings reads: a
// JSON array of {"value", "time"}.
func AppendReadings(buf *bytes.Buffer, rs []live.Reading) {
	buf.WriteByte('[')
	for i, r := range rs {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(`{"value":`)
		buf.Write(strconv.AppendFloat(buf.AvailableBuffer(), r.Value, 'g', -1, 64))
		buf.WriteString(`,"time":"`)
		buf.Write(r.Time.UTC().AppendFormat(buf.AvailableBuffer(), time.RFC3339Nano))
		buf.WriteString(`"}`)
	}
	buf.WriteByte(']')
}

// Close disconnects.
func (d *Device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.c == nil {
		return nil
	}
	err := d.c.Disconnect(&paho.Disconnect{})
	d.c = nil
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
