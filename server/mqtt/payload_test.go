package mqtt

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kiruna-twin/kiruna-twin/twin/live"
)

func rd(t time.Time, v float64) live.Reading { return live.Reading{Sensor: "s", Time: t, Value: v} }

func TestDecodeReadings(t *testing.T) {
	now := time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC)
	at := time.Date(2026, 12, 1, 6, 30, 0, 0, time.UTC)
	cases := []struct {
		payload string
		want    []live.Reading
		err     string // a part of the error
	}{
		{`{"value": 3.5, "time": "2026-12-01T06:30:00Z"}`, []live.Reading{rd(at, 3.5)}, ""},
		{` {"value": -2}`, []live.Reading{rd(now, -2)}, ""},
		{`{"value": 1e3, "time": null}`, []live.Reading{rd(now, 1000)}, ""},
		{`{"time": "2026-12-01T07:30:00+01:00", "value": 0}`, []live.Reading{rd(at, 0)}, ""},
		{`[{"value": 1}, {"value": 2, "time": "2026-12-01T06:30:00Z"}]`, []live.Reading{rd(now, 1), rd(at, 2)}, ""},
		{"", nil, "empty"},
		{"[]", nil, "an empty array"},
		{"3.5", nil, "[0]"},
		{`{"value": 1`, nil, "[0]"},
		{`{"value": 1}x`, nil, "one JSON value"},
		{`[{"value": 1}] []`, nil, "one JSON value"},
		{`{"value": 1, "unit": "cm"}`, nil, "unknown field"},
		{`{"value": "1"}`, nil, "[0].value"},
		{`{"value": true}`, nil, "[0].value"},
		{`{"value": 1e999}`, nil, "[0].value"},
		{`{}`, nil, "[0].value"},
		{`[{"value": 1}, {"value": 1, "time": 5}]`, nil, "[1].time"},
		{`{"value": 1, "time": "2026-12-01"}`, nil, "[0].time"},
		{"[" + strings.Repeat(`{"value":1},`, MaxReadings) + `{"value":1}]`, nil, "at most 5000"},
	}
	for _, tc := range cases {
		got, err := DecodeReadings([]byte(tc.payload), "s", now)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%.40q: error %v, want one saying %q", tc.payload, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.payload, err)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("%q: %v, want %v", tc.payload, got, tc.want)
			continue
		}
		for i := range got {
			if got[i].Sensor != tc.want[i].Sensor || !got[i].Time.Equal(tc.want[i].Time) || got[i].Value != tc.want[i].Value {
				t.Errorf("%q: [%d] %v, want %v", tc.payload, i, got[i], tc.want[i])
			}
		}
	}
}

// FuzzDecodeReadings: any payload either decodes to 1–MaxReadings
// readings of the topic's sensor with finite values, or is refused with an
// error the broker can classify.
func FuzzDecodeReadings(f *testing.F) {
	for _, s := range []string{`{"value": 3.5, "time": "2026-12-01T06:30:00Z"}`, `[{"value":1},{"value":2}]`,
		`{"value": 1, "time": null}`, `[`, `{"value": -0.0e-5}`, `[{"value":1}] `, `{"time":"x"}`} {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, payload []byte) {
		rs, err := DecodeReadings(payload, "s", now)
		if err != nil {
			var re *live.ReadingError
			if !errors.Is(err, errPayload) && !errors.As(err, &re) {
				t.Fatalf("an error the broker cannot classify: %v", err)
			}
			if rs != nil {
				t.Fatal("readings with an error")
			}
			return
		}
		if len(rs) == 0 || len(rs) > MaxReadings {
			t.Fatalf("%d readings", len(rs))
		}
		for _, r := range rs {
			if r.Sensor != "s" || r.Time.IsZero() {
				t.Fatalf("reading %+v", r)
			}
		}
	})
}
