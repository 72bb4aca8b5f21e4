package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/kiruna-twin/kiruna-twin/server"
	"github.com/kiruna-twin/kiruna-twin/server/mqtt"
	"github.com/kiruna-twin/kiruna-twin/twin/live"
	"github.com/spf13/pflag"
)

// mqttConfig is the command line of the MQTT listener (server/mqtt).
type mqttConfig struct {
	addr          string
	cert, key     string
	connRate      float64
	maxPayload    int
	perCompany    int
	sessionExpiry time.Duration
	simulate      bool // --simulate-mqtt: the simulator publishes over MQTT
}

func addMQTTFlags(fl *pflag.FlagSet, c *mqttConfig) {
	fl.StringVar(&c.addr, "mqtt", "", "HOST:PORT of an MQTT listener (3.1.1 and 5) for companies' readings, e.g. :1883; off unless given")
	fl.StringVar(&c.cert, "mqtt-tls-cert", "", "PEM certificate (chain) of the MQTT listener: it then speaks TLS only (with --mqtt-tls-key)")
	fl.StringVar(&c.key, "mqtt-tls-key", "", "PEM private key of --mqtt-tls-cert")
	fl.Float64Var(&c.connRate, "mqtt-conn-rate", 20, "messages a second one MQTT connection may publish (bursts of 5 seconds' worth); a company's messages also take from its --write-rate")
	fl.IntVar(&c.maxPayload, "mqtt-max-payload", 64<<10, "largest payload of an MQTT message, in bytes")
	fl.IntVar(&c.perCompany, "mqtt-conns-per-company", 100, "MQTT connections one company may hold")
	fl.DurationVar(&c.sessionExpiry, "mqtt-session-expiry", time.Hour, "longest an MQTT client's persistent session is kept while it is away")
	fl.BoolVar(&c.simulate, "simulate-mqtt", false, "run the sensor simulator as a device publishing over the MQTT listener (needs --mqtt; implies --simulate)")
}

func (c mqttConfig) check() error {
	switch {
	case (c.cert == "") != (c.key == ""):
		return errors.New("--mqtt-tls-cert and --mqtt-tls-key go together")
	case c.cert != "" && c.addr == "":
		return errors.New("--mqtt-tls-cert needs --mqtt")
	case c.simulate && c.addr == "":
		return errors.New("--simulate-mqtt needs --mqtt")
	case c.connRate <= 0 || c.maxPayload < 64 || c.perCompany < 1 || c.sessionExpiry < 0:
		return errors.New("--mqtt-conn-rate, --mqtt-max-payload (at least 64) and --mqtt-conns-per-company must be positive, --mqtt-session-expiry not negative")
	}
	return nil
}

// startMQTT starts the MQTT listener when --mqtt is given (nil, nil
// otherwise). Close it before the store.
func startMQTT(c serveConfig, store *live.Store, tenants live.Authenticator, srv *server.Server, log *slog.Logger) (*mqtt.Broker, *tls.Config, error) {
	if c.mqtt.addr == "" {
		return nil, nil, nil
	}
	var tlsConf *tls.Config
	if c.mqtt.cert != "" {
		pair, err := tls.LoadX509KeyPair(c.mqtt.cert, c.mqtt.key)
		if err != nil {
			return nil, nil, fmt.Errorf("--mqtt-tls-cert, --mqtt-tls-key: %w", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	}
	b, err := mqtt.New(mqtt.Config{Store: store, Tenants: tenants, StateJSON: server.AppendSensorJSON,
		AllowWrite: srv.AllowWrite,
		// Admit: per-company quotas of readings go here once the store
		// has them.
		Registry: srv.Registry(), Logger: log,
		Limits: mqtt.Limits{ConnRate: c.mqtt.connRate, MaxPayload: c.mqtt.maxPayload, PerCompany: c.mqtt.perCompany,
			PerAddr: c.perConn, MaxConns: c.maxConns, SessionExpiry: c.mqtt.sessionExpiry}})
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", c.mqtt.addr)
	if err != nil {
		return nil, nil, fmt.Errorf("--mqtt %s: %w", c.mqtt.addr, err)
	}
	if err := b.Serve(ln, tlsConf); err != nil {
		ln.Close()
		return nil, nil, fmt.Errorf("--mqtt %s: %w", c.mqtt.addr, err)
	}
	log.Info("MQTT listening", "mqtt_addr", ln.Addr().String(), "tls", tlsConf != nil)
	return b, tlsConf, nil
}

// simDevice is the simulator's device on the MQTT listener: it connects
// over the loopback as the scene's own sensors' owner, with the
// broker's in-process password, and, with TLS, trusts exactly the
// certificate the listener serves.
func simDevice(b *mqtt.Broker, tlsConf *tls.Config) *mqtt.Device {
	user, pass := b.SystemCredentials()
	addr := b.Addr().(*net.TCPAddr)
	host := "127.0.0.1"
	if addr.IP.To4() == nil && !addr.IP.IsUnspecified() {
		host = "::1"
	}
	cfg := mqtt.DeviceConfig{Addr: net.JoinHostPort(host, fmt.Sprint(addr.Port)), User: user, Password: pass, ClientID: "simulator"}
	if !addr.IP.IsUnspecified() && !addr.IP.IsLoopback() {
		cfg.Addr = addr.String()
	}
	if tlsConf != nil {
		served := tlsConf.Certificates[0].Certificate[0]
		cfg.TLS = &tls.Config{
			InsecureSkipVerify: true, // replaced by the pin below: the name may not be the loopback's
			VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
				if len(raw) == 0 || !bytes.Equal(raw[0], served) {
					return errors.New("not the certificate this server serves")
				}
				return nil
			},
		}
	}
	return mqtt.NewDevice(cfg)
}

// simPublish is the simulator's way out through the device.
func simPublish(d *mqtt.Device) func(context.Context, []live.Reading) error {
	if d == nil {
		return nil
	}
	return d.Publish
}
