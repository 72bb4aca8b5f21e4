package osm

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"google.golang.org/protobuf/encoding/protowire"
)

func decodeFile(t testing.TB, name string, opts Options) *Result {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := Decode(context.Background(), f, FormatOf(name), opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func byID(fs []*twin.Feature) map[string]*twin.Feature {
	m := map[string]*twin.Feature{}
	for _, f := range fs {
		m[f.ID] = f
	}
	return m
}

func TestTown(t *testing.T) {
	res := decodeFile(t, "town.osm", Options{})
	got := byID(res.Features)
	if res.Buildings != 3 || res.Infrastructure != 2 {
		ids := []string{}
		for id := range got {
			ids = append(ids, id)
		}
		t.Fatalf("%d buildings and %d infrastructure (%v), want 3 and 2; skipped %v", res.Buildings, res.Infrastructure, ids, res.Skipped)
	}
	if res.Nodes != 20 || res.Ways != 12 || res.Relations != 3 {
		t.Errorf("read %d nodes, %d ways, %d relations", res.Nodes, res.Ways, res.Relations)
	}

	church := got["osm-w100"]
	if church.Kind != "church" || church.Name != "Kyrkan" || church.Height != 35 || church.Base != 0 ||
		church.Props["height_source"] != "height" || church.Props["wikidata"] != "Q1" || church.Props["osm_id"] != "way/100" {
		t.Errorf("church = %+v", church)
	}
	if church.Source != Source || church.Layer != twin.Buildings || church.Life.From.Year() != 1912 {
		t.Errorf("church source %q layer %q from %v", church.Source, church.Layer, church.Life.From)
	}
	if p := church.Geometry.(orb.Polygon); p[0].Orientation() != orb.CCW {
		t.Error("church footprint not counter-clockwise")
	}

	b := got["osm-w101"]
	// 4 levels × 3 m = 12 m to the top, from min_height 3: base 3, height 9.
	if b.Base != 3 || b.Height != 9 || b.Props["height_source"] != "levels" || b.Kind != "building" {
		t.Errorf("levels building: base %v height %v props %v", b.Base, b.Height, b.Props)
	}
	if b.Life.From.Year() != 1963 || !b.Life.To.Equal(time.Date(2019, 7, 1, 0, 0, 0, 0, time.UTC)) || b.Status != twin.Demolished {
		t.Errorf("levels building life %v status %v", b.Life, b.Status)
	}

	school := got["osm-r300"]
	poly, ok := school.Geometry.(orb.Polygon)
	if !ok || len(poly) != 2 {
		t.Fatalf("school = %#v, want a polygon with a hole", school.Geometry)
	}
	if poly[0].Orientation() != orb.CCW || poly[1].Orientation() != orb.CW {
		t.Error("school rings wrongly oriented")
	}
	if school.Name != "Skolan" || school.Height != 6 || school.Kind != "school" || school.Props["from_default"] != true || !school.Life.From.Equal(DefaultFrom) {
		t.Errorf("school = %+v", school)
	}

	road := got["osm-w200"]
	if road.Kind != "road" || road.Layer != twin.Infrastructure || road.Name != "Storgatan" || road.Props["highway"] != "residential" {
		t.Errorf("road = %+v", road)
	}
	if _, ok := road.Geometry.(orb.LineString); !ok {
		t.Errorf("road geometry %T", road.Geometry)
	}
	rail := got["osm-w201"]
	mls, ok := rail.Geometry.(orb.MultiLineString)
	if rail.Kind != "rail" || !ok || len(mls) != 2 || rail.Props["cut"] != true || rail.Life.From.Year() != 1902 {
		t.Errorf("rail = %+v, geometry %v: want two runs around the missing node", rail, rail.Geometry)
	}

	wantSkips := map[string]string{
		"way/102":      "not closed",
		"way/103":      "crosses itself",
		"way/104":      "node/999 is not in the file",
		"relation/301": "do not make closed rings",
	}
	skips := map[string]string{}
	for _, s := range res.Skipped {
		skips[s.ID] = s.Reason
	}
	for id, reason := range wantSkips {
		if !strings.Contains(skips[id], reason) {
			t.Errorf("skip of %s = %q, want it to say %q", id, skips[id], reason)
		}
	}
	for _, id := range []string{"osm-w202", "osm-w203", "osm-r302", "osm-w110"} {
		if got[id] != nil {
			t.Errorf("%s imported", id)
		}
	}

	m := twin.NewModel()
	if err := m.Load(res.Features); err != nil {
		t.Fatal(err)
	}
}

func encode(t testing.TB, fs []*twin.Feature) []byte {
	var buf bytes.Buffer
	for _, f := range fs {
		gf := geojson.NewFeature(f.Geometry)
		gf.ID = f.ID
		gf.Properties = f.Properties(twin.RFC3339Time)
		b, err := json.Marshal(gf)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

func TestPBFMatchesXML(t *testing.T) {
	x := decodeFile(t, "town.osm", Options{})
	p := decodeFile(t, "town.osm.pbf", Options{})
	if got, want := encode(t, p.Features), encode(t, x.Features); !bytes.Equal(got, want) {
		t.Errorf("PBF:\n%s\nXML:\n%s", got, want)
	}
	if p.SkippedCount != x.SkippedCount {
		t.Errorf("skipped %d from PBF, %d from XML", p.SkippedCount, x.SkippedCount)
	}
}

func osmXML(body string) string {
	return `<?xml version="1.0" encoding="UTF-8"?><osm version="0.6">` + body + `</osm>`
}

const square = `<node id="1" lat="1" lon="1"/><node id="2" lat="1" lon="1.001"/><node id="3" lat="1.001" lon="1.001"/><node id="4" lat="1.001" lon="1"/>`

func TestHostile(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		format Format
		opts   Options
		err    error
		skip   string // a reason in Skipped, when no error
		n      int    // features, when no error
	}{
		{name: "not XML", in: "<osm><node id=", err: ErrBadOSM},
		{name: "invalid UTF-8", in: osmXML(square + "<way id=\"1\"><nd ref=\"1\"/><tag k=\"name\" v=\"\xff\xfe\"/></way>"), err: ErrBadOSM},
		{name: "not PBF", in: "this is not a protocol buffer", format: PBF, err: ErrBadOSM},
		{name: "empty", in: "", n: 0},
		{name: "NaN position", in: osmXML(`<node id="1" lat="NaN" lon="1"/>`), skip: "outside WGS84"},
		{name: "Inf position", in: osmXML(`<node id="1" lat="1" lon="+Inf"/>`), skip: "outside WGS84"},
		{name: "out of range", in: osmXML(`<node id="1" lat="91" lon="1"/>`), skip: "outside WGS84"},
		{name: "too many nodes", in: osmXML(square), opts: Options{Limits: Limits{Nodes: 3}}, err: ErrLimit},
		{name: "too many ways", in: osmXML(`<way id="1"/><way id="2"/>`), opts: Options{Limits: Limits{Ways: 1}}, err: ErrLimit},
		{name: "way too long", in: osmXML(`<way id="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/></way>`), opts: Options{Limits: Limits{WayNodes: 2}}, err: ErrLimit},
		{name: "too many members", in: osmXML(`<relation id="1"><member type="way" ref="1" role="outer"/><member type="way" ref="2" role="outer"/></relation>`),
			opts: Options{Limits: Limits{Members: 1}}, err: ErrLimit},
		{name: "duplicate way", in: osmXML(square + `<way id="7"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="1"/><tag k="building" v="yes"/></way>` +
			`<way id="7"><nd ref="1"/><nd ref="2"/><tag k="highway" v="service"/></way>`), skip: "appears twice", n: 1},
		{name: "duplicate node keeps the first", in: osmXML(square + `<node id="3" lat="5" lon="5"/><way id="7"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="1"/><tag k="building" v="yes"/></way>`),
			skip: "appears twice", n: 1},
		{name: "nodes out of order", in: osmXML(`<node id="4" lat="1.001" lon="1"/><node id="2" lat="1" lon="1.001"/><node id="3" lat="1.001" lon="1.001"/><node id="1" lat="1" lon="1"/>` +
			`<way id="7"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/><tag k="building" v="yes"/></way>`), n: 1},
		{name: "relation with a missing member", in: osmXML(`<relation id="1"><member type="way" ref="5" role="outer"/><tag k="type" v="multipolygon"/><tag k="building" v="yes"/></relation>`),
			skip: "member way/5 is not in the file"},
		{name: "absurd height falls back", in: osmXML(square + `<way id="7"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="1"/><tag k="building" v="yes"/><tag k="height" v="1e300"/></way>`), n: 1},
		{name: "road of one node", in: osmXML(square + `<way id="7"><nd ref="1"/><nd ref="1"/><tag k="highway" v="service"/></way>`), skip: "fewer than two"},
		{name: "deep nesting", in: osmXML(strings.Repeat("<x>", 5000) + strings.Repeat("</x>", 5000)), n: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Decode(context.Background(), strings.NewReader(tc.in), tc.format, tc.opts)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Features) != tc.n {
				t.Errorf("%d features, want %d (skipped %v)", len(res.Features), tc.n, res.Skipped)
			}
			if tc.skip != "" {
				found := false
				for _, s := range res.Skipped {
					found = found || strings.Contains(s.Reason, tc.skip)
				}
				if !found {
					t.Errorf("skipped %v, want a reason with %q", res.Skipped, tc.skip)
				}
			}
		})
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Decode(ctx, strings.NewReader(osmXML(square)), XML, Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestTagParsing(t *testing.T) {
	for _, tc := range []struct {
		in string
		v  float64
		ok bool
	}{
		{"12", 12, true}, {"12 m", 12, true}, {"12.5m", 12.5, true}, {"10 ft", 3.048, true}, {"10'", 3.048, true},
		{"12,5", 12.5, true}, {"12;15", 12, true}, {"tall", 0, false}, {"-3", 0, false}, {"NaN", 0, false}, {"", 0, false}, {"5000", 0, false},
	} {
		v, ok := metres(tc.in)
		if ok != tc.ok || (ok && abs(v-tc.v) > 1e-9) {
			t.Errorf("metres(%q) = %v, %v; want %v, %v", tc.in, v, ok, tc.v, tc.ok)
		}
	}
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"1963", "1963-01-01"}, {"1963-05", "1963-05-01"}, {"1963-05-20", "1963-05-20"}, {"~1920", "1920-01-01"}, {"1960s", "1960-01-01"},
		{"C19", ""}, {"before 1900", ""}, {"0999", ""}, {"", ""},
	} {
		got, ok := parseDate(tc.in)
		s := ""
		if ok {
			s = got.Format("2006-01-02")
		}
		if s != tc.want {
			t.Errorf("parseDate(%q) = %q, want %q", tc.in, s, tc.want)
		}
	}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// A PBF block that declares a huge uncompressed size is refused before
// the decoder would allocate it.
func TestPBFGuard(t *testing.T) {
	var blob []byte
	blob = protowire.AppendTag(blob, 2, protowire.VarintType) // raw_size
	blob = protowire.AppendVarint(blob, 1<<31-1)
	blob = protowire.AppendTag(blob, 3, protowire.BytesType) // zlib_data
	blob = protowire.AppendBytes(blob, []byte{0x78, 0x9c, 0x03, 0x00})
	var hdr []byte
	hdr = protowire.AppendTag(hdr, 1, protowire.BytesType) // type
	hdr = protowire.AppendString(hdr, "OSMHeader")
	hdr = protowire.AppendTag(hdr, 3, protowire.VarintType) // datasize
	hdr = protowire.AppendVarint(hdr, uint64(len(blob)))
	file := binary.BigEndian.AppendUint32(nil, uint32(len(hdr)))
	file = append(append(file, hdr...), blob...)
	_, err := Decode(context.Background(), bytes.NewReader(file), PBF, Options{})
	if !errors.Is(err, ErrBadOSM) || !strings.Contains(err.Error(), "uncompressed size 2147483647") {
		t.Fatalf("err = %v, want ErrBadOSM naming the size", err)
	}
	// A header that claims a 1 GiB blob.
	hdr = protowire.AppendTag(nil, 3, protowire.VarintType)
	hdr = protowire.AppendVarint(hdr, 1<<30)
	file = append(binary.BigEndian.AppendUint32(nil, uint32(len(hdr))), hdr...)
	if _, err := Decode(context.Background(), bytes.NewReader(file), PBF, Options{}); !errors.Is(err, ErrBadOSM) {
		t.Fatalf("err = %v, want ErrBadOSM", err)
	}
}
