package mqtt

import "github.com/prometheus/client_golang/prometheus"

// metrics are the broker's, on /metrics beside the HTTP server's.
type metrics struct {
	connRefused *prometheus.CounterVec // reason: auth, per_company, per_address, full
	messages    *prometheus.CounterVec // qos, outcome: stored, refused, failed, dropped
	refused     *prometheus.CounterVec // reason of a refused message
	readings    prometheus.Counter     // readings made durable
	ack         prometheus.Histogram   // from a QoS 1/2 PUBLISH read to its PUBACK/PUBREC
	states      prometheus.Counter     // state messages published
	all         []prometheus.Collector
}

func newMetrics() *metrics {
	m := &metrics{
		connRefused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiruna_mqtt_connections_refused_total",
			Help: "MQTT connections refused at CONNECT or accept, by reason: auth (wrong name or token), per_company, per_address, full."}, []string{"reason"}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiruna_mqtt_messages_total",
			Help: "Readings messages published to the broker, by QoS and outcome: stored (durable), refused (see kiruna_mqtt_refused_total), failed (the store failed; QoS 1/2 not acknowledged), dropped (QoS 0 beyond the connection's messages in hand)."},
			[]string{"qos", "outcome"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiruna_mqtt_refused_total",
			Help: "Messages refused, by reason: revoked (the company's token, checked again each second; the client is disconnected), topic, too_large, rate_connection, rate_company, quota, payload, time, value, unknown_sensor, not_owner."}, []string{"reason"}),
		readings: prometheus.NewCounter(prometheus.CounterOpts{Name: "kiruna_mqtt_readings_total",
			Help: "Readings made durable from MQTT messages."}),
		ack: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "kiruna_mqtt_ack_seconds",
			Help:    "Time from reading a QoS 1 or 2 PUBLISH to sending its acknowledgement (the readings durable).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}),
		states: prometheus.NewCounter(prometheus.CounterOpts{Name: "kiruna_mqtt_states_published_total",
			Help: "Sensor states published (retained) to kiruna/+/sensors/+/state."}),
	}
	m.all = []prometheus.Collector{m.connRefused, m.messages, m.refused, m.readings, m.ack, m.states}
	return m
}

func (m *metrics) register(reg prometheus.Registerer, open func() float64) {
	if reg == nil {
		return
	}
	reg.MustRegister(m.all...)
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kiruna_mqtt_connections_open",
		Help: "MQTT connections open now."}, open))
}

var qosLabel = [3]string{"0", "1", "2"}
