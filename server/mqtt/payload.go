package mqtt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/kiruna-twin/kiruna-twin/twin/live"
)

// MaxReadings is the most readings one message may carry (as one HTTP
// batch).
const MaxReadings = 5000

// errPayload marks a payload that is not one reading or an array of them.
var errPayload = errors.New("bad payload")

// DecodeReadings reads a readings message for sensor: one reading
// {"value": 3.5, "time": "2026-12-01T06:30:00Z"} or a JSON array of them.
// time is optional (absent or null: now, the broker's clock); nothing else
// may be in a reading. Errors name the reading and the field, e.g.
// "[2].time: …", and wrap errPayload or, for a field, a *live.ReadingError.
func DecodeReadings(payload []byte, sensor string, now time.Time) ([]live.Reading, error) {
	p := bytes.TrimLeft(payload, " \t\r\n")
	if len(p) == 0 {
		return nil, fmt.Errorf("%w: empty; send {\"value\": N, \"time\": RFC3339} or an array of them", errPayload)
	}
	var raws []json.RawMessage
	if p[0] == '[' {
		if err := strictDecode(p, &raws); err != nil {
			return nil, fmt.Errorf("%w: %v", errPayload, err)
		}
		if len(raws) == 0 {
			return nil, fmt.Errorf("%w: an empty array", errPayload)
		}
		if len(raws) > MaxReadings {
			return nil, fmt.Errorf("%w: %d readings, at most %d in one message", errPayload, len(raws), MaxReadings)
		}
	} else {
		raws = []json.RawMessage{p}
	}
	out := make([]live.Reading, len(raws))
	for i, raw := range raws {
		var f struct {
			Value json.RawMessage `json:"value"`
			Time  json.RawMessage `json:"time"`
		}
		if err := strictDecode(raw, &f); err != nil {
			return nil, fmt.Errorf("%w: [%d]: %v", errPayload, i, err)
		}
		bad := func(field, format string, args ...any) error {
			return &live.ReadingError{Index: i, Field: field, Err: fmt.Errorf(format, args...)}
		}
		out[i].Sensor = sensor
		if len(f.Value) == 0 || !(f.Value[0] == '-' || f.Value[0] >= '0' && f.Value[0] <= '9') {
			return nil, bad("value", "%w: want a number", live.ErrBadReading)
		}
		v, err := strconv.ParseFloat(string(f.Value), 64)
		if err != nil {
			return nil, bad("value", "%w: %s is not a finite number", live.ErrBadReading, f.Value)
		}
		out[i].Value = v
		if len(f.Time) == 0 || string(f.Time) == "null" {
			out[i].Time = now
			continue
		}
		var ts string
		if f.Time[0] != '"' || json.Unmarshal(f.Time, &ts) != nil {
			return nil, bad("time", `%w: want an RFC 3339 time as a string, e.g. "2026-12-01T06:30:00Z"`, live.ErrBadReading)
		}
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return nil, bad("time", "%w: %q is not an RFC 3339 time (e.g. 2026-12-01T06:30:00Z)", live.ErrBadReading, ts)
		}
		out[i].Time = t
	}
	return out, nil
}

// strictDecode reads exactly one JSON value into v, refusing unknown
// fields.
func strictDecode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if len(bytes.TrimSpace(data[dec.InputOffset():])) > 0 {
		return errors.New("one JSON value, please")
	}
	return nil
}
