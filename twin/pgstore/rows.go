package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/kiruna-twin/kiruna-twin/twin/live"
	"github.com/kiruna-twin/kiruna-twin/twin/wal"
	"github.com/paulmach/orb/encoding/wkb"
)

// project writes a record into its tables, inside the record's
// transaction, under the Rows conflict rule. A refusal (another company's
// id, a pilot that is not there, a record that cannot be read) is a
// domainError.
func project(ctx context.Context, tx pgx.Tx, stream string, r wal.Record) error {
	k, d, err := live.DecodeRecord(stream, r)
	if err != nil {
		return domainError{err}
	}
	proj, ok := projections[kindKey{k.Stream, k.Kind}]
	if !ok {
		return domainError{fmt.Errorf("the %s stream's %s records are not kept in the store", k.Stream, k.Name)}
	}
	return proj(ctx, tx, r, d, live.Rows)
}

// A projection writes one kind of record (live.RecordKinds) into its
// tables; rule says what a contradiction of the rows comes to.
type projection func(ctx context.Context, tx pgx.Tx, r wal.Record, d live.Decoded, rule live.ConflictRule) error

type kindKey struct {
	stream string
	kind   byte
}

// projections has one entry for every kind of live.RecordKinds.
var projections = map[kindKey]projection{
	{live.SensorStream, live.RecSensor}:       projectSensor,
	{live.SensorStream, live.RecReadings}:     projectReadings,
	{live.SensorStream, live.RecSensorDelete}: projectSensorDelete,
	{live.PilotStream, live.RecPilotPut}:      projectPilotPut,
	{live.PilotStream, live.RecPilotDelete}:   projectPilotDelete,
}

// contradiction is a refusal under rule, or nil when rule skips it.
func contradiction(rule live.ConflictRule, err error) error {
	if err := rule.Contradiction(err); err != nil {
		return domainError{err}
	}
	return nil
}

func projectSensor(ctx context.Context, tx pgx.Tx, _ wal.Record, d live.Decoded, rule live.ConflictRule) error {
	sn := d.Sensor
	tag, err := tx.Exec(ctx, `INSERT INTO kiruna_sensors (id, type, unit, name, owner, since, geom)
		VALUES ($1, $2, $3, $4, $5, $6, ST_SetSRID(ST_MakePoint($7, $8), 4326))
		ON CONFLICT (id) DO UPDATE SET type = EXCLUDED.type, unit = EXCLUDED.unit, name = EXCLUDED.name, geom = EXCLUDED.geom
		WHERE kiruna_sensors.owner = EXCLUDED.owner`,
		sn.ID, string(sn.Type), sn.Unit, sn.Name, sn.Owner, sn.Since, sn.Pos[0], sn.Pos[1])
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return contradiction(rule, fmt.Errorf("%w: %s", live.ErrSensorTaken, sn.ID))
	}
	return nil
}

// projectSensorDelete removes the sensor's row, if its owner's, and its
// readings (a company that registers the id again starts afresh).
func projectSensorDelete(ctx context.Context, tx pgx.Tx, _ wal.Record, d live.Decoded, rule live.ConflictRule) error {
	sn := d.Sensor
	tag, err := tx.Exec(ctx, `DELETE FROM kiruna_sensors WHERE id = $1 AND owner = $2`, sn.ID, sn.Owner)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		if err := rule.Absent(fmt.Errorf("%w %q of %s", live.ErrUnknownSensor, sn.ID, sn.Owner)); err != nil {
			return domainError{err}
		}
		return nil
	}
	_, err = tx.Exec(ctx, `DELETE FROM kiruna_readings WHERE sensor = $1`, sn.ID)
	return err
}

func projectReadings(ctx context.Context, tx pgx.Tx, _ wal.Record, d live.Decoded, _ live.ConflictRule) error {
	rs := d.Readings
	// The same sensor and instant replace the earlier reading, in the
	// batch (the last one counts) and in the table (a retried batch).
	last := make(map[readingKey]int, len(rs))
	for i, r := range rs {
		last[readingKey{r.Sensor, r.Time.UnixMicro()}] = i
	}
	sensors, times, values := make([]string, 0, len(last)), make([]time.Time, 0, len(last)), make([]float64, 0, len(last))
	for i, r := range rs {
		if last[readingKey{r.Sensor, r.Time.UnixMicro()}] == i {
			sensors, times, values = append(sensors, r.Sensor), append(times, r.Time), append(values, r.Value)
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO kiruna_readings (sensor, time, value)
		SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::double precision[])
		ON CONFLICT (sensor, time) DO UPDATE SET value = EXCLUDED.value`, sensors, times, values)
	return err
}

func projectPilotPut(ctx context.Context, tx pgx.Tx, r wal.Record, d live.Decoded, rule live.ConflictRule) error {
	info, fs := d.Pilot, d.Features
	b := info.Bound
	tag, err := tx.Exec(ctx, `INSERT INTO kiruna_pilots (name, company, updated, features, bound, data)
		VALUES ($1, $2, $3, $4, ST_MakeEnvelope($5, $6, $7, $8, 4326), $9)
		ON CONFLICT (name) DO UPDATE SET updated = EXCLUDED.updated, features = EXCLUDED.features, bound = EXCLUDED.bound, data = EXCLUDED.data
		WHERE kiruna_pilots.company = EXCLUDED.company`,
		info.ID, info.Company, info.Updated, len(fs), b.Min[0], b.Min[1], b.Max[0], b.Max[1], r.Data)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return contradiction(rule, fmt.Errorf("%w: %s", live.ErrNotPilotOwner, info.ID))
	}
	if _, err := tx.Exec(ctx, `DELETE FROM kiruna_pilot_features WHERE pilot = $1`, info.ID); err != nil {
		return err
	}
	var batch pgx.Batch
	for _, f := range fs {
		g, err := wkb.Marshal(f.Geometry)
		if err != nil {
			return domainError{fmt.Errorf("feature %s: %w", f.ID, err)}
		}
		props, err := json.Marshal(f.Props)
		if err != nil {
			return domainError{fmt.Errorf("feature %s: %w", f.ID, err)}
		}
		batch.Queue(`INSERT INTO kiruna_pilot_features (pilot, id, kind, name, height, base, valid_from, valid_to, status, props, geom)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, ST_SetSRID(ST_GeomFromWKB($11), 4326))`,
			info.ID, f.ID, f.Kind, f.Name, f.Height, f.Base, nullTime(f.Life.From), nullTime(f.Life.To), string(f.Status), props, g)
	}
	return tx.SendBatch(ctx, &batch).Close()
}

func projectPilotDelete(ctx context.Context, tx pgx.Tx, _ wal.Record, d live.Decoded, rule live.ConflictRule) error {
	tag, err := tx.Exec(ctx, `DELETE FROM kiruna_pilots WHERE name = $1`, d.Pilot.ID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		if err := rule.Absent(fmt.Errorf("%w: %s", live.ErrPilotNotFound, d.Pilot.ID)); err != nil {
			return domainError{err}
		}
	}
	return nil
}

// readingKey is a sensor and an instant to the microsecond, which is what
// PostgreSQL keeps (pgx drops the rest): two readings of a sensor less than
// a microsecond apart are one row there, the later.
type readingKey struct {
	sensor string
	micros int64
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// loadLive replays the companies' sensors and the newest readings of
// every sensor (at most HistoryLimit each, oldest first).
func (db *DB) loadLive(ctx context.Context, tx pgx.Tx, replay func(wal.Record) error) error {
	rows, err := tx.Query(ctx, `SELECT id, type, unit, name, owner, since, ST_X(geom), ST_Y(geom) FROM kiruna_sensors ORDER BY since, id`)
	if err != nil {
		return err
	}
	var sensors []live.Sensor
	for rows.Next() {
		var sn live.Sensor
		var typ string
		if err := rows.Scan(&sn.ID, &typ, &sn.Unit, &sn.Name, &sn.Owner, &sn.Since, &sn.Pos[0], &sn.Pos[1]); err != nil {
			rows.Close()
			return err
		}
		sn.Type = live.SensorType(typ)
		sensors = append(sensors, sn)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, sn := range sensors {
		if err := replay(wal.Record{Kind: live.RecSensor, Data: live.EncodeSensorRecord(sn)}); err != nil {
			return err
		}
	}
	// Every sensor with readings (a skip scan of the index), then the
	// newest readings of each.
	rows, err = tx.Query(ctx, `WITH RECURSIVE s(id) AS (
			(SELECT sensor FROM kiruna_readings ORDER BY sensor LIMIT 1)
			UNION ALL
			SELECT (SELECT sensor FROM kiruna_readings WHERE sensor > s.id ORDER BY sensor LIMIT 1) FROM s WHERE s.id IS NOT NULL)
		SELECT s.id, r.time, r.value FROM s CROSS JOIN LATERAL (
			SELECT time, value FROM kiruna_readings WHERE sensor = s.id ORDER BY time DESC LIMIT $1) r
		WHERE s.id IS NOT NULL ORDER BY s.id, r.time`, db.opts.HistoryLimit)
	if err != nil {
		return err
	}
	defer rows.Close()
	var batch []live.Reading
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := replay(wal.Record{Kind: live.RecReadings, Data: live.EncodeReadingsRecord(batch)})
		batch = batch[:0]
		return err
	}
	for rows.Next() {
		var r live.Reading
		if err := rows.Scan(&r.Sensor, &r.Time, &r.Value); err != nil {
			return err
		}
		batch = append(batch, r)
		if len(batch) == 1024 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return flush()
}

// loadPilots replays every pilot.
func (db *DB) loadPilots(ctx context.Context, tx pgx.Tx, replay func(wal.Record) error) error {
	rows, err := tx.Query(ctx, `SELECT data FROM kiruna_pilots ORDER BY name`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return err
		}
		if err := replay(wal.Record{Kind: live.RecPilotPut, Data: data}); err != nil {
			return err
		}
	}
	return rows.Err()
}
