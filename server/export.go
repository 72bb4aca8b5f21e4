package server

import (
	"github.com/kiruna-twin/kiruna-twin/twin/live"
	"github.com/prometheus/client_golang/prometheus"
)

// Registry is where the server's metrics are, for other listeners of the
// binary (MQTT) to add theirs to /metrics.
func (s *Server) Registry() *prometheus.Registry { return s.cfg.Registry }

// AppendSensorJSON appends a sensor's state as GET /api/sensors/{id}
// answers it (the one encoder of a sensor; see appendSensor).
func AppendSensorJSON(b []byte, st live.SensorState) []byte {
	return appendSensor(b, st, sensorFull)
}
