package server

import (
	"encoding/json"
	"errors"
	"math"
	"testing"

	"github.com/kiruna-twin/kiruna-twin/twin/live"
)

// FuzzDecodeReadings: any body either decodes into readings with a time
// and a finite value, or fails with an error (never a panic); what decodes
// encodes and decodes again to the same readings.
func FuzzDecodeReadings(f *testing.F) {
	for _, s := range []string{
		`{"readings":[{"sensor":"a1","time":"2025-08-20T01:30:00Z","value":1.5}]}`,
		`{"readings":[{"sensor":"a1","time":"2025-08-20T01:30:00.123+02:00","value":-0}, {"sensor":"b","time":"2025-01-01T00:00:00Z","value":1e308}]}`,
		`{"readings":[]}`, `{"readings":null}`, `{}`, `[]`, `null`, ``,
		`{"readings":[{"sensor":"a1","time":"2025-08-20T01:30:00Z","value":1e999}]}`,
		`{"readings":[{"sensor":"a1","time":"2025-08-20T01:30:00Z","value":"1"}]}`,
		`{"readings":[{"sensor":"a1","time":"2025-08-20T01:30:00Z","value":1,"x":2}]}`,
		`{"readings":[{"sensor":"\u00e4\ud83d\ude00","time":"2025-08-20T01:30:00Z","value":1}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := decodeReadingsBody(data)
		if err != nil {
			var re *live.ReadingError
			if errors.As(err, &re) && (re.Index < 0 || re.Field == "") {
				t.Fatalf("a reading error without a place: %v", err)
			}
			return
		}
		if len(rs) == 0 || len(rs) > maxBatch {
			t.Fatalf("decoded %d readings", len(rs))
		}
		type wire struct {
			Sensor string  `json:"sensor"`
			Time   string  `json:"time"`
			Value  float64 `json:"value"`
		}
		var out struct {
			Readings []wire `json:"readings"`
		}
		for _, r := range rs {
			if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) || r.Time.IsZero() {
				t.Fatalf("decoded a bad reading %+v", r)
			}
			out.Readings = append(out.Readings, wire{r.Sensor, r.Time.Format("2006-01-02T15:04:05.999999999Z07:00"), r.Value})
		}
		again, _ := json.Marshal(out)
		rs2, err := decodeReadingsBody(again)
		if err != nil {
			t.Fatalf("re-encoded readings do not decode: %v\n%s", err, again)
		}
		for i := range rs {
			if rs2[i].Sensor != rs[i].Sensor || !rs2[i].Time.Equal(rs[i].Time) || rs2[i].Value != rs[i].Value {
				t.Fatalf("reading %d changed in a round trip: %+v → %+v", i, rs[i], rs2[i])
			}
		}
	})
}

// FuzzDecodeClientMessage: any message decodes to a known type with a
// sane box, or to an error for the client; never a panic.
func FuzzDecodeClientMessage(f *testing.F) {
	for _, s := range []string{
		`{"type":"subscribe","bbox":[20.1,67.8,20.4,67.9]}`, `{"type":"unsubscribe"}`,
		`{"type":"subscribe","bbox":[-200,-90,200,90]}`, `{"type":"subscribe","bbox":[1,2,3]}`,
		`{"type":"subscribe","bbox":[1,2,3,"4"]}`, `{"type":"x"}`, `{}`, `[]`, `"subscribe"`, ``, `{"type":null}`,
		`{"type":"subscribe","bbox":[1e309,0,0,0]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeWSClientMessage(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error message")
			}
			return
		}
		switch m.Type {
		case WSUnsubscribe:
		case WSSubscribe:
			b := m.BBox
			for _, v := range []float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]} {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("box %v", b)
				}
			}
			if b.Min[0] < -180 || b.Max[0] > 180 || b.Min[1] < -90 || b.Max[1] > 90 || b.Min[0] > b.Max[0] || b.Min[1] > b.Max[1] {
				t.Fatalf("box %v", b)
			}
		default:
			t.Fatalf("decoded an unknown type %q", m.Type)
		}
	})
}

// FuzzDecodeSensorBody: any body either decodes into a sensor or fails
// with an error (never a panic); a body whose JSON names a member twice
// never decodes.
func FuzzDecodeSensorBody(f *testing.F) {
	for _, s := range []string{
		`{"id":"a1","type":"snow_depth","unit":"cm","lon":20.1,"lat":67.1,"name":"Snö"}`,
		`{"id":"a1","id":"b","type":"snow_depth","lon":20.1,"lat":67.1}`,
		`{"id":"a1","type":"snow_depth","lon":20.1}`, `{}`, `[]`, `null`, ``, `{"id":`,
		"{\"id\":\"a\",\"type\":\"x\",\"lon\":1,\"lat\":2,\"name\":\"\xff\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sn, err := decodeSensorBody(data)
		if err != nil {
			return
		}
		if noDuplicateNames(data) != nil {
			t.Fatalf("a body with a duplicate name decoded: %+v", sn)
		}
		if math.IsNaN(sn.Pos[0]) || math.IsNaN(sn.Pos[1]) {
			t.Fatalf("decoded a position that is not a number: %+v", sn)
		}
	})
}
