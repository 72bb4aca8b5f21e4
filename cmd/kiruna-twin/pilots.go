package main

import (
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/kiruna-twin/kiruna-twin/server"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/kiruna-twin/kiruna-twin/twin/live"
)

// openPilots opens the companies' pilots under --data and publishes them
// to the server; the returned function closes them.
func openPilots(c serveConfig, model *twin.Model, srv *server.Server, log *slog.Logger) (stop func(), err error) {
	dir := filepath.Join(c.data, "pilots")
	ps, err := c.shared.openPilots(dir, model, log) // replicas.go
	if err != nil {
		return nil, withRepairHint(fmt.Errorf("--data %s: %w", c.data, err), c.data)
	}
	ps.SetQuota(live.PilotQuota{Pilots: c.maxPilots, Vertices: c.maxPilotVertices})
	srv.SetPilots(ps)
	log.Info("pilots opened", "dir", dir, "pilots", len(ps.List()))
	return func() {
		if err := ps.Close(); err != nil {
			log.Error("closing the pilots", "err", err)
		}
	}, nil
}
