package wal

import (
	"context"
	"sync/atomic"
	"testing"
)

// BenchmarkCommit measures commits of one 400-byte record (about 20
// readings) each: one at a time (one fsync each), and from 64 goroutines
// at once (group commit: one fsync for all that wait).
//
//	go test -run '^$' -bench Commit -benchtime 3s ./twin/wal
func BenchmarkCommit(b *testing.B) {
	rec := []Record{{Kind: 1, Data: make([]byte, 400)}}
	b.Run("serial", func(b *testing.B) {
		l, _ := openT(b, b.TempDir(), Options{})
		defer l.Close()
		for b.Loop() {
			if err := l.Commit(context.Background(), rec, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
	})
	b.Run("parallel-64", func(b *testing.B) {
		var fsyncs atomic.Int64
		l, _ := openT(b, b.TempDir(), Options{OnCommit: func(CommitInfo) { fsyncs.Add(1) }})
		defer l.Close()
		b.SetParallelism(32) // × GOMAXPROCS goroutines
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := l.Commit(context.Background(), rec, nil); err != nil {
					b.Error(err)
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
		b.ReportMetric(float64(b.N)/float64(max(fsyncs.Load(), 1)), "commits/fsync")
	})
}
