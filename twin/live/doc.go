// Package live holds the written side of Kiruna Twin: what companies and
// the simulator change while the server runs, and how it is made durable.
//
// It owns:
//   - sensors and their readings (Sensor, SensorSet, Store): the latest
//     value, a bounded history and the status of every sensor;
//   - pilots (PilotStore): companies' overlays in the pilots layer;
//   - companies and their write tokens (Tenants, Authenticator);
//   - the seams to the engines that keep all this (Journal, Follower,
//     Bus, Committed): the embedded log of twin/wal, or PostgreSQL
//     (twin/pgstore) shared by several replicas that hear each other over
//     a bus (twin/natsbus);
//   - the one table of the record kinds those engines store
//     (RecordKinds: each kind's byte, name, decoding and applying), used
//     by replay, by replica application (ApplyCommitted) and by
//     twin/pgstore's rows, with the rule for a record that contradicts
//     the state passed explicitly (ConflictRule);
//   - the lock that keeps two processes out of one data directory.
//
// It must not hold the read model: features, layers, time and the spatial
// index are package twin's, which live writes through (twin.Model.Apply)
// and which never imports live. Nor does it know HTTP, JSON or the
// WebSocket protocol: those are package server's.
package live
