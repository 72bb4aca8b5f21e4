// Package mqtt is the twin's MQTT face: a broker (github.com/mochi-mqtt/
// server/v2, MQTT 3.1.1 and 5) through which companies' devices and
// gateways publish readings and dashboards read sensors' states.
//
// It owns:
//   - the topic scheme: a company publishes readings to
//     kiruna/{company}/sensors/{sensor}/readings and anyone signed in may
//     read kiruna/{owner}/sensors/{sensor}/state, retained (topic.go);
//   - the payload of a readings message, one JSON reading or an array
//     of them (payload.go);
//   - the broker's rules: who may connect (a company's name and token),
//     publish and subscribe, the limits of a connection, a company and an
//     address, and when an acknowledgement is sent: for QoS 1 and 2 only
//     once the readings are durable (broker.go, hook.go, acks.go);
//   - a device that publishes readings like a real one, for the simulator
//     (device.go).
//
// It holds no domain logic: readings go through live.Store.Validate and
// Ingest exactly as an HTTP batch does, companies through the same
// live.Authenticator, and a company's write rate through the same bucket
// as its HTTP writes (Config.AllowWrite).
package mqtt
