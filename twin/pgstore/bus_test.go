package pgstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/kiruna-twin/kiruna-twin/twin/live"
	"github.com/kiruna-twin/kiruna-twin/twin/natsbus"
	"github.com/kiruna-twin/kiruna-twin/twin/natsbus/natstest"
	"github.com/kiruna-twin/kiruna-twin/twin/pgstore"
	"github.com/kiruna-twin/kiruna-twin/twin/pgstore/pgtest"
	"github.com/paulmach/orb"
)

// openBusReplica is a replica that polls the store only once an hour: what
// reaches it sooner came over the bus, or through a resync the bus asked
// for.
func openBusReplica(t *testing.T, url, natsURL string) *replica {
	return openBusReplicaTB(t, url, natsURL)
}

func openBusReplicaTB(t testing.TB, url, natsURL string) *replica {
	t.Helper()
	bus, err := natsbus.Connect(natsbus.Options{URL: natsURL, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	db, err := pgstore.Open(context.Background(), pgstore.Options{URL: url, Bus: bus, Logger: quiet, Poll: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{db: db, model: twin.NewModel()}
	if r.store, err = live.OpenStore("", r.model, live.StoreOptions{Logger: quiet, Journal: db.LiveJournal()}); err != nil {
		t.Fatal(err)
	}
	if r.pilots, err = live.OpenPilotsOn(db.PilotJournal(), r.model, quiet); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.close)
	return r
}

func TestBusBringsChangesAndAGapIsReadFromTheStore(t *testing.T) {
	url := pgtest.Database(t)
	nats := natstest.Run(t, -1)
	natsURL := nats.ClientURL()
	ctx := context.Background()
	a := openBusReplica(t, url, natsURL)
	b := openBusReplica(t, url, natsURL)

	for i := 0; i < 3; i++ {
		sn := live.Sensor{ID: fmt.Sprintf("s%d", i), Type: "temperature", Unit: "°C", Pos: orb.Point{20.2 + float64(i)/100, 67.85}}
		if _, _, err := a.store.Register(ctx, "lkab", sn); err != nil {
			t.Fatal(err)
		}
	}
	heard := make(chan []live.SensorState, 100)
	b.store.Listen(func(s []live.SensorState) { heard <- append([]live.SensorState(nil), s...) })
	start := time.Now()
	if err := a.store.Ingest(ctx, "lkab", []live.Reading{{Sensor: "s1", Time: time.Now(), Value: 3}}); err != nil {
		t.Fatal(err)
	}
	for got := false; !got; {
		select {
		case ss := <-heard:
			for _, s := range ss {
				got = got || (s.ID == "s1" && s.Value == 3)
			}
		case <-time.After(time.Second):
			t.Fatal("B heard nothing of A's reading within a second")
		}
	}
	t.Logf("A's reading reached B's listeners in %s", time.Since(start))

	// NATS goes down; A writes on (the store takes it); NATS comes back:
	// B reads what it missed from the store.
	port := natstest.Port(t, nats)
	nats.Shutdown()
	nats.WaitForShutdown()
	for i := 0; i < 20; i++ {
		if err := a.store.Ingest(ctx, "lkab", []live.Reading{{Sensor: "s2", Time: time.Now(), Value: float64(i)}}); err != nil {
			t.Fatalf("writing with the bus down: %v", err)
		}
	}
	if a.db.Ready() != nil {
		t.Fatalf("the bus being down is no reason to be unready: %v", a.db.Ready())
	}
	natstest.Run(t, port)
	eventually(t, "B converges after NATS restarts", 10*time.Second, func() bool {
		st, ok := b.store.Sensors().Get("s2")
		return ok && st.Value == 19 && b.db.Position() == a.db.Position()
	})
}
