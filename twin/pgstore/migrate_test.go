package pgstore

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/kiruna-twin/kiruna-twin/twin/pgstore/pgtest"
)

// TestMigrationTwoMergesDuplicateReadings: a store of schema version 1
// whose readings table holds a retried row twice opens as version 2 with
// one row per sensor and instant, and the key then holds.
func TestMigrationTwoMergesDuplicateReadings(t *testing.T) {
	url := pgtest.Database(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	t0 := time.Date(2026, 1, 15, 8, 0, 0, 0, time.UTC)
	for _, q := range []string{
		migrations[0],
		`CREATE TABLE kiruna_schema (version integer PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())`,
		`INSERT INTO kiruna_schema (version) VALUES (1)`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range []float64{1, 1, 2} { // a retried reading, and another instant
		at := t0
		if v == 2 {
			at = t0.Add(time.Minute)
		}
		if _, err := conn.Exec(ctx, `INSERT INTO kiruna_readings (sensor, time, value) VALUES ('s1', $1, $2)`, at, v); err != nil {
			t.Fatal(err)
		}
	}
	db, err := Open(ctx, Options{URL: url, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var version, rows int
	if err := db.Pool().QueryRow(ctx, `SELECT max(version) FROM kiruna_schema`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM kiruna_readings`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if version != len(migrations) || rows != 2 {
		t.Fatalf("after migrating: version %d, %d rows; want %d and 2", version, rows, len(migrations))
	}
	if _, err := db.Pool().Exec(ctx, `INSERT INTO kiruna_readings (sensor, time, value) VALUES ('s1', $1, 3)`, t0); err == nil {
		t.Fatal("a second row for the same sensor and instant was taken")
	}
}
