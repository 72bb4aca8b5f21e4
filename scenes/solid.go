package scenes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"

	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/twpayne/go-geom"
)

// A feature's 3D shape (twin.Feature.Solid) travels in a bundle's GeoJSON
// as a foreign member of the feature (RFC 7946, 6.1), beside its 2D
// geometry, which stays the footprint that every GIS tool reads:
//
//	"solid": {"type": "MultiPolygon", "semantics": ["ground", "wall", "roof", …],
//	          "coordinates": [[[[lon, lat, z], …]], …]}
//
// one polygon per boundary surface, z in metres (its lowest point stands at
// the feature's base), semantics one per polygon ("ground", "wall", "roof"
// or "" when unknown) or absent.

// rawSolid is the "solid" member as read.
type rawSolid struct {
	Type        string          `json:"type"`
	Semantics   []string        `json:"semantics"`
	Coordinates [][][][]float64 `json:"coordinates"`
}

// decodeSolid reads the "solid" member of a feature.
func decodeSolid(raw json.RawMessage) (geom.T, []twin.SurfaceType, error) {
	var rs rawSolid
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rs); err != nil {
		return nil, nil, &twin.FieldError{Field: "solid", Err: fmt.Errorf("%w: %s", ErrBadGeoJSON, jsonErr(err))}
	}
	if rs.Type != "MultiPolygon" {
		return nil, nil, &twin.FieldError{Field: "solid.type", Err: fmt.Errorf("%w: %q, want \"MultiPolygon\"", ErrBadGeoJSON, rs.Type)}
	}
	mp := geom.NewMultiPolygon(geom.XYZ)
	for i, poly := range rs.Coordinates {
		rings := make([][]geom.Coord, 0, len(poly))
		for j, ring := range poly {
			cs := make([]geom.Coord, 0, len(ring))
			for k, c := range ring {
				if len(c) != 3 {
					return nil, nil, &twin.FieldError{Field: fmt.Sprintf("solid.coordinates[%d][%d][%d]", i, j, k),
						Err: fmt.Errorf("%w: want [lon, lat, z], got %d numbers", ErrBadGeoJSON, len(c))}
				}
				cs = append(cs, geom.Coord{c[0], c[1], c[2]})
			}
			rings = append(rings, cs)
		}
		p, err := geom.NewPolygon(geom.XYZ).SetCoords(rings)
		if err != nil {
			return nil, nil, &twin.FieldError{Field: fmt.Sprintf("solid.coordinates[%d]", i), Err: fmt.Errorf("%w: %v", ErrBadGeoJSON, err)}
		}
		if err := mp.Push(p); err != nil {
			return nil, nil, &twin.FieldError{Field: fmt.Sprintf("solid.coordinates[%d]", i), Err: fmt.Errorf("%w: %v", ErrBadGeoJSON, err)}
		}
	}
	var types []twin.SurfaceType
	if rs.Semantics != nil {
		types = make([]twin.SurfaceType, len(rs.Semantics))
		for i, s := range rs.Semantics {
			t, err := twin.ParseSurfaceType(s)
			if err != nil {
				return nil, nil, &twin.FieldError{Field: fmt.Sprintf("solid.semantics[%d]", i), Err: err}
			}
			types[i] = t
		}
	}
	return mp, types, nil
}

// solidJSON is the "solid" member as written.
type solidJSON struct {
	Type        string          `json:"type"`
	Semantics   []string        `json:"semantics,omitempty"`
	Coordinates [][][][]float64 `json:"coordinates"`
}

func encodeSolid(f *twin.Feature) (*solidJSON, error) {
	mp := f.SolidPolygons()
	if mp == nil {
		if f.Solid != nil {
			return nil, fmt.Errorf("feature %s: a solid of type %T cannot be written (want a MultiPolygon)", f.ID, f.Solid)
		}
		return nil, nil
	}
	out := &solidJSON{Type: "MultiPolygon", Coordinates: make([][][][]float64, mp.NumPolygons())}
	for i := range out.Coordinates {
		p := mp.Polygon(i)
		rings := make([][][]float64, p.NumLinearRings())
		for j := range rings {
			flat := p.LinearRing(j).FlatCoords()
			ring := make([][]float64, 0, len(flat)/3)
			for k := 0; k+2 < len(flat); k += 3 {
				ring = append(ring, []float64{round(flat[k], 1e7), round(flat[k+1], 1e7), round(flat[k+2], 1e3)})
			}
			rings[j] = ring
		}
		out.Coordinates[i] = rings
	}
	if len(f.Surfaces) > 0 {
		out.Semantics = make([]string, len(f.Surfaces))
		for i, t := range f.Surfaces {
			out.Semantics[i] = t.String()
		}
	}
	return out, nil
}

func round(v, k float64) float64 { return math.Round(v*k) / k }

// MarshalFeature writes f as one GeoJSON feature the way bundle files hold
// it: the id, the 2D geometry with coordinates to 1e-7 degrees (about
// 1 cm), the properties of the feature schema with times in RFC 3339, and
// the solid, when f has one, as the "solid" member.
func MarshalFeature(f *twin.Feature) ([]byte, error) {
	gf := geojson.NewFeature(orb.Round(orb.Clone(f.Geometry), 1e7))
	gf.ID = f.ID
	gf.Properties = f.Properties(twin.RFC3339Time)
	s, err := encodeSolid(f)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return json.Marshal(gf)
	}
	// orb's Feature writes no foreign members: write the same three
	// members and the solid.
	return json.Marshal(struct {
		ID         any                `json:"id"`
		Type       string             `json:"type"`
		Geometry   geojson.Geometry   `json:"geometry"`
		Properties geojson.Properties `json:"properties"`
		Solid      *solidJSON         `json:"solid"`
	}{gf.ID, "Feature", *geojson.NewGeometry(gf.Geometry), gf.Properties, s})
}
