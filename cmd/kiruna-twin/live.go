package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/kiruna-twin/kiruna-twin/server"
	"github.com/kiruna-twin/kiruna-twin/server/mqtt"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/kiruna-twin/kiruna-twin/twin/live"
	"github.com/kiruna-twin/kiruna-twin/twin/sim"
)

// startLive opens the live state under --data (after the scene is in the
// model: the scene's sensors come from it), hands it to the server and
// starts the simulator unless --simulate=false. stop ends the simulator
// and closes the store; call it after the HTTP server has shut down.
func startLive(ctx context.Context, c serveConfig, model *twin.Model, loc *time.Location, srv *server.Server, tenants live.Authenticator, log *slog.Logger) (stop func(), err error) {
	dir := filepath.Join(c.data, "live")
	store, err := live.OpenStore(dir, model, live.StoreOptions{Logger: log, Journal: c.shared.liveJournal(), MaxSensorsPerOwner: c.maxSensors}) // replicas.go
	if err != nil {
		return nil, withRepairHint(fmt.Errorf("--data %s: %w", c.data, err), c.data)
	}
	srv.SetLive(store)
	log.Info("live state opened", "dir", dir, "sensors", store.Sensors().Len(), "simulator", c.simulate)
	broker, tlsConf, err := startMQTT(c, store, tenants, srv, log) // mqtt.go; nil without --mqtt
	if err != nil {
		store.Close()
		return nil, err
	}
	var device *mqtt.Device // --simulate-mqtt
	if c.mqtt.simulate {
		device = simDevice(broker, tlsConf)
	}

	simCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if c.simulate {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := sim.Run(simCtx, sim.Config{Store: store, Model: model, Location: loc, Logger: log, Publish: simPublish(device)}); err != nil {
				log.Error("the simulator stopped", "err", err)
			}
		}()
	}
	return func() {
		cancel()
		wg.Wait()
		if device != nil {
			device.Close()
		}
		if broker != nil {
			broker.Close()
		}
		srv.Close()
		if err := store.Close(); err != nil {
			log.Error("closing the live state", "err", err)
		}
	}, nil
}
