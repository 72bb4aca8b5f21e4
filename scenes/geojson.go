package scenes

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb/geojson"
)

// ErrBadGeoJSON marks input that is not a GeoJSON FeatureCollection of the
// shape the twin reads.
var ErrBadGeoJSON = errors.New("bad GeoJSON")

type rawCollection struct {
	Type     string       `json:"type"`
	Features []rawFeature `json:"features"`
}

type rawFeature struct {
	Type       string          `json:"type"`
	ID         any             `json:"id"`
	Geometry   json.RawMessage `json:"geometry"`
	Properties map[string]any  `json:"properties"`
	Solid      json.RawMessage `json:"solid"` // a foreign member: see solid.go
}

// DecodeGeoJSON reads a GeoJSON FeatureCollection (RFC 7946) into features
// of the given layer. Errors are *twin.IndexError values naming the feature
// and the field, e.g. "features[12].properties.to: to is not after from".
// The features are not validated geometrically here: the model does that
// when they are indexed.
func DecodeGeoJSON(data []byte, layer twin.Layer) ([]*twin.Feature, error) {
	var fc rawCollection
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&fc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadGeoJSON, jsonErr(err))
	}
	if fc.Type != "FeatureCollection" {
		return nil, fmt.Errorf("%w: type is %q, want \"FeatureCollection\"", ErrBadGeoJSON, fc.Type)
	}
	out := make([]*twin.Feature, 0, len(fc.Features))
	for i := range fc.Features {
		f, err := decodeFeature(&fc.Features[i], layer)
		if err != nil {
			return nil, &twin.IndexError{Index: i, Err: err}
		}
		out = append(out, f)
	}
	return out, nil
}

func jsonErr(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%s: want %s, got %s (at byte %d)", te.Field, te.Type, te.Value, te.Offset)
	}
	return err.Error()
}

func propErr(name string, err error) error {
	return &twin.FieldError{Field: "properties." + name, Err: err}
}

func decodeFeature(rf *rawFeature, layer twin.Layer) (*twin.Feature, error) {
	if rf.Type != "Feature" {
		return nil, &twin.FieldError{Field: "type", Err: fmt.Errorf("%w: %q, want \"Feature\"", ErrBadGeoJSON, rf.Type)}
	}
	f := &twin.Feature{Layer: layer}
	p := rf.Properties

	// The id: the feature's own id member, or else properties.id.
	id, err := stringish(rf.ID)
	if err != nil {
		return nil, &twin.FieldError{Field: "id", Err: err}
	}
	if id == "" {
		if id, err = stringish(p["id"]); err != nil {
			return nil, propErr("id", err)
		}
	}
	if id == "" {
		return nil, &twin.FieldError{Field: "id", Err: twin.ErrMissingID}
	}
	f.ID = id

	if len(rf.Geometry) == 0 || string(rf.Geometry) == "null" {
		return nil, &twin.FieldError{Field: "geometry", Err: twin.ErrNoGeometry}
	}
	g, err := geojson.UnmarshalGeometry(rf.Geometry)
	if err != nil {
		return nil, &twin.FieldError{Field: "geometry", Err: fmt.Errorf("%w: %v", ErrBadGeoJSON, err)}
	}
	if g.Coordinates == nil {
		return nil, &twin.FieldError{Field: "geometry", Err: fmt.Errorf("%w: unsupported geometry type %q", ErrBadGeoJSON, g.Type)}
	}
	f.Geometry = g.Geometry()
	if len(rf.Solid) > 0 && string(rf.Solid) != "null" {
		if f.Solid, f.Surfaces, err = decodeSolid(rf.Solid); err != nil {
			return nil, err
		}
	}

	strs := []struct {
		name string
		dst  *string
	}{{"kind", &f.Kind}, {"name", &f.Name}, {"lineage", &f.Lineage}, {"source", &f.Source}}
	for _, s := range strs {
		if *s.dst, err = optString(p, s.name); err != nil {
			return nil, propErr(s.name, err)
		}
	}
	status, err := optString(p, "status")
	if err != nil {
		return nil, propErr("status", err)
	}
	if f.Status, err = twin.ParseStatus(status); err != nil {
		return nil, propErr("status", err)
	}
	conf, err := optString(p, "confidence")
	if err != nil {
		return nil, propErr("confidence", err)
	}
	if f.Confidence, err = twin.ParseConfidence(conf); err != nil {
		return nil, propErr("confidence", err)
	}
	if f.Life.From, err = optInstant(p, "from"); err != nil {
		return nil, propErr("from", err)
	}
	if f.Life.To, err = optInstant(p, "to"); err != nil {
		return nil, propErr("to", err)
	}
	if f.Height, err = optNumber(p, "height"); err != nil {
		return nil, propErr("height", err)
	}
	if f.Base, err = optNumber(p, "base"); err != nil {
		return nil, propErr("base", err)
	}
	for k, v := range p {
		if twin.IsReserved(k) { // read above into the feature's own fields
			continue
		}
		switch v.(type) {
		case string, float64, bool:
		case nil:
			continue
		default:
			return nil, propErr(k, errors.New("want a string, number or boolean"))
		}
		if f.Props == nil {
			f.Props = map[string]any{}
		}
		f.Props[k] = v
	}
	return f, nil
}

func stringish(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case float64:
		if v != math.Trunc(v) || math.IsInf(v, 0) {
			return "", fmt.Errorf("want a string or an integer, got %v", v)
		}
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	}
	return "", fmt.Errorf("want a string, got %T", v)
}

func optString(p map[string]any, key string) (string, error) {
	switch v := p[key].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	default:
		return "", fmt.Errorf("want a string, got %v", v)
	}
}

func optNumber(p map[string]any, key string) (float64, error) {
	switch v := p[key].(type) {
	case nil:
		return 0, nil
	case float64:
		return v, nil
	default:
		return 0, fmt.Errorf("want a number, got %v", v)
	}
}

func optInstant(p map[string]any, key string) (time.Time, error) {
	switch v := p[key].(type) {
	case nil:
		return time.Time{}, nil
	case string:
		return twin.ParseInstant(v)
	case float64:
		if v < 0 || v >= 10000 {
			return time.Time{}, fmt.Errorf("year %v out of range", v)
		}
		return twin.FromDecimalYear(v), nil
	default:
		return time.Time{}, fmt.Errorf("want a date string or a year, got %v", v)
	}
}
