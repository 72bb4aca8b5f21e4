package pgstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/kiruna-twin/kiruna-twin/twin/live"
	"github.com/kiruna-twin/kiruna-twin/twin/natsbus/natstest"
	"github.com/kiruna-twin/kiruna-twin/twin/pgstore/pgtest"
	"github.com/paulmach/orb"
)

// BenchmarkCommitToListener: from Ingest on one store to a listener (what
// feeds the WebSocket hub) hearing the reading — the same store when
// embedded (log and fsync), the other replica with PostgreSQL and NATS
// (commit, bus, apply). One reading at a time.
func BenchmarkCommitToListener(b *testing.B) {
	for _, mode := range []string{"embedded", "postgres+nats"} {
		b.Run(mode, func(b *testing.B) {
			ctx := context.Background()
			var writer, watcher *live.Store
			switch mode {
			case "embedded":
				st, err := live.OpenStore(b.TempDir(), twin.NewModel(), live.StoreOptions{Logger: quiet})
				if err != nil {
					b.Fatal(err)
				}
				defer st.Close()
				writer, watcher = st, st
			default:
				url := pgtest.Database(b)
				nats := natstest.Run(b, -1).ClientURL()
				wa := openBusReplicaTB(b, url, nats)
				wb := openBusReplicaTB(b, url, nats)
				writer, watcher = wa.store, wb.store
			}
			sn := live.Sensor{ID: "s", Type: "temperature", Unit: "°C", Pos: orb.Point{20.2, 67.85}}
			if _, _, err := writer.Register(ctx, "lkab", sn); err != nil {
				b.Fatal(err)
			}
			heard := make(chan float64, 16)
			watcher.Listen(func(ss []live.SensorState) {
				for _, s := range ss {
					if s.ID == "s" {
						heard <- s.Value
					}
				}
			})
			lat := make([]time.Duration, 0, b.N)
			t0 := time.Now().Add(-time.Hour)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				v := float64(i%50) + 0.25
				start := time.Now()
				if err := writer.Ingest(ctx, "lkab", []live.Reading{{Sensor: "s", Time: t0.Add(time.Duration(i) * time.Millisecond), Value: v}}); err != nil {
					b.Fatal(err)
				}
				for got := <-heard; got != v; got = <-heard {
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
