package scenes

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
)

// ErrBadGeoJSON marks input that is not a GeoJSON FeatureCollection of the
// shape the twin reads.
var ErrBadGeoJSON = errors.New("bad GeoJSON")

// DecodeGeoJSON reads a GeoJSON FeatureCollection (RFC 7946) into features
// of the given layer. Errors are *twin.IndexError values naming the feature
// and the field, e.g. "features[12].properties.to: to is not after from".
// The features are not validated geometrically here: the model does that
// when they are indexed.
//
// It reads JSON token by token (jsontext) straight into the features,
// without a generic value per property, and decodes the features of a
// large collection on every core: a bundle of a million buildings is read
// in about a second. A name given twice in one object is an error.
func DecodeGeoJSON(data []byte, layer twin.Layer) ([]*twin.Feature, error) {
	return decodeGeoJSON(data, layer, false)
}

// decodeGeoJSON is DecodeGeoJSON; with validate, each feature is also
// checked as the model will check it (twin.Feature.Validate), on the
// decoding cores.
func decodeGeoJSON(data []byte, layer twin.Layer, validate bool) ([]*twin.Feature, error) {
	raws, err := splitFeatures(data)
	if err != nil {
		return nil, err
	}
	out := make([]*twin.Feature, len(raws))
	// One block of features for each worker, decoded in place; the first
	// error in collection order wins, as it would one at a time.
	workers := runtime.GOMAXPROCS(0)
	if len(raws) < 4096 {
		workers = 1
	}
	chunk := (len(raws) + workers - 1) / max(workers, 1)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := w*chunk, min((w+1)*chunk, len(raws))
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := &featureDecoder{layer: layer}
			d.dec = jsontext.NewDecoder(&d.r)
			feats := make([]twin.Feature, hi-lo) // one allocation for the block
			for i := lo; i < hi; i++ {
				f := &feats[i-lo]
				err := d.decode(raws[i], f)
				if err == nil && validate {
					err = f.Validate()
				}
				if err != nil {
					errs[w] = &twin.IndexError{Index: i, Err: err}
					return
				}
				out[i] = f
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// splitFeatures checks the collection's shape and returns the raw bytes of
// each member of its features array, slices of data.
func splitFeatures(data []byte) ([][]byte, error) {
	dec := jsontext.NewDecoder(bytes.NewReader(data))
	bad := func(err error) error { return fmt.Errorf("%w: %v", ErrBadGeoJSON, syntaxErr(err)) }
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, bad(err)
	}
	if tok.Kind() != '{' {
		return nil, fmt.Errorf("%w: want a FeatureCollection object, got %s", ErrBadGeoJSON, kindName(tok.Kind()))
	}
	var typ string
	var raws [][]byte
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return nil, bad(err)
		}
		switch name.String() {
		case "type":
			if typ, err = readType(dec); err != nil {
				return nil, err
			}
		case "features":
			if k := dec.PeekKind(); k != '[' {
				if k == 0 {
					_, err := dec.ReadToken()
					return nil, bad(err)
				}
				return nil, fmt.Errorf("%w: features: want an array, got %s", ErrBadGeoJSON, kindName(k))
			}
			if _, err := dec.ReadToken(); err != nil {
				return nil, bad(err)
			}
			// The array's members are only delimited here, by a scan of
			// brackets and strings far quicker than a full parse: each is
			// parsed whole, on every core, by the feature decoders.
			var end int
			if raws, end, err = scanArray(data, int(dec.InputOffset())); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrBadGeoJSON, err)
			}
			// Go on after the array with a decoder of what follows, put
			// in an object again by a member no document has.
			rest := append([]byte(`{"\u0000":0`), data[end:]...)
			dec = jsontext.NewDecoder(bytes.NewReader(rest))
			for range 3 {
				if _, err := dec.ReadToken(); err != nil {
					return nil, bad(err)
				}
			}
		case "crs":
			if err := checkCRS(dec); err != nil {
				return nil, err
			}
		default:
			if err := dec.SkipValue(); err != nil {
				return nil, bad(err)
			}
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, bad(err)
	}
	if _, err := dec.ReadToken(); err == nil {
		return nil, fmt.Errorf("%w: data after the collection (at byte %d)", ErrBadGeoJSON, dec.InputOffset())
	}
	if typ != "FeatureCollection" {
		return nil, fmt.Errorf("%w: type is %q, want \"FeatureCollection\"", ErrBadGeoJSON, typ)
	}
	return raws, nil
}

// scanArray delimits the members of the JSON array whose first member
// starts at or after data[i] (just past its '['): it returns each member's
// bytes and the offset just past the closing ']'. It checks only what it
// needs to find the members: brackets that match and strings that end.
func scanArray(data []byte, i int) ([][]byte, int, error) {
	raws := make([][]byte, 0, 1024)
	ws := func() {
		for i < len(data) && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t') {
			i++
		}
	}
	eof := func() error { return fmt.Errorf("the features array does not end (at byte %d)", len(data)) }
	ws()
	if i < len(data) && data[i] == ']' {
		return raws, i + 1, nil
	}
	for {
		ws()
		if i >= len(data) {
			return nil, 0, eof()
		}
		start := i
		depth := 0
	value:
		for ; i < len(data); i++ {
			switch c := data[i]; c {
			case '"':
				// To the closing quote: the next quote not escaped by an
				// odd run of backslashes.
				for {
					j := bytes.IndexByte(data[i+1:], '"')
					if j < 0 {
						return nil, 0, eof()
					}
					i += 1 + j
					k := i - 1
					for data[k] == '\\' {
						k--
					}
					if (i-1-k)%2 == 0 {
						break
					}
				}
				if depth == 0 {
					i++
					break value
				}
			case '{', '[':
				depth++
			case '}', ']':
				if depth == 0 {
					break value // the end of a bare number or literal
				}
				depth--
				if depth < 0 {
					return nil, 0, fmt.Errorf("unexpected %q (at byte %d)", c, i)
				}
				if depth == 0 {
					i++
					break value
				}
			case ',', ' ', '\n', '\r', '\t':
				if depth == 0 {
					break value
				}
			}
		}
		if depth != 0 || i == start {
			return nil, 0, eof()
		}
		raws = append(raws, data[start:i:i])
		ws()
		if i >= len(data) {
			return nil, 0, eof()
		}
		switch data[i] {
		case ',':
			i++
		case ']':
			return raws, i + 1, nil
		default:
			return nil, 0, fmt.Errorf("want ',' or ']' after a feature, got %q (at byte %d)", data[i], i)
		}
	}
}

// ErrCRS: a GeoJSON crs member (GeoJSON of 2008) that names a system
// other than WGS84 longitude/latitude. RFC 7946 removed the member:
// coordinates are WGS84 longitude and latitude, and nothing else is read.
var ErrCRS = errors.New("RFC 7946 GeoJSON is WGS84 longitude and latitude only: convert the coordinates to WGS84 (EPSG:4326, longitude first) and remove the crs member")

// crs84 are the names of WGS84 longitude/latitude that a crs member of
// older writers (GDAL, QGIS) gives; such a member says what RFC 7946
// assumes and is let through.
var crs84 = map[string]bool{
	"urn:ogc:def:crs:OGC:1.3:CRS84":                 true,
	"urn:ogc:def:crs:OGC::CRS84":                    true,
	"http://www.opengis.net/def/crs/OGC/1.3/CRS84":  true,
	"https://www.opengis.net/def/crs/OGC/1.3/CRS84": true,
	"OGC:CRS84": true,
}

// checkCRS reads a crs member and refuses it, unless it is null or names
// WGS84 longitude/latitude (crs84): coordinates in another system would
// land somewhere else without a word.
func checkCRS(dec *jsontext.Decoder) error {
	v, err := dec.ReadValue()
	if err != nil {
		return fieldErr("crs", fmt.Errorf("%w: %v", ErrBadGeoJSON, syntaxErr(err)))
	}
	if v.Kind() == 'n' {
		return nil
	}
	var c struct {
		Type       string `json:"type"`
		Properties struct {
			Name string `json:"name"`
		} `json:"properties"`
	}
	if json.Unmarshal(v, &c) == nil && c.Type == "name" && crs84[c.Properties.Name] {
		return nil
	}
	said := "a crs member"
	if n := c.Properties.Name; n != "" {
		if len(n) > 80 {
			n = n[:80] + "…"
		}
		said = fmt.Sprintf("crs %q", n)
	}
	return fieldErr("crs", fmt.Errorf("%w: %s is not read: %w", ErrBadGeoJSON, said, ErrCRS))
}

// readType reads the value of a type member: a string.
func readType(dec *jsontext.Decoder) (string, error) {
	v, err := dec.ReadToken()
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadGeoJSON, syntaxErr(err))
	}
	if v.Kind() != '"' {
		return "", fmt.Errorf("%w: type: want a string, got %s", ErrBadGeoJSON, kindName(v.Kind()))
	}
	return v.String(), nil
}

// syntaxErr says where JSON went wrong.
func syntaxErr(err error) string {
	var se *jsontext.SyntacticError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v (at byte %d)", se.Err, se.ByteOffset)
	}
	return err.Error()
}

func kindName(k jsontext.Kind) string {
	switch k {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case '0':
		return "a number"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "nothing"
}

// jsonErr says where scene.json went wrong (encoding/json).
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

// featureDecoder reads one feature at a time, reusing its decoder.
type featureDecoder struct {
	layer   twin.Layer
	dec     *jsontext.Decoder
	r       bytes.Reader
	strings map[string]string // kinds and sources met, shared by the features
}

// intern returns the copy of s that earlier features hold: kinds and
// sources repeat over thousands of features.
func (d *featureDecoder) intern(s string) string {
	if c, ok := d.strings[s]; ok {
		return c
	}
	if d.strings == nil {
		d.strings = map[string]string{}
	}
	if len(d.strings) < 4096 {
		d.strings[s] = s
	}
	return s
}

func fieldErr(field string, err error) error { return &twin.FieldError{Field: field, Err: err} }

// decode reads the feature in raw into f.
func (d *featureDecoder) decode(raw []byte, f *twin.Feature) error {
	d.r.Reset(raw)
	d.dec.Reset(&d.r)
	dec := d.dec
	f.Layer = d.layer
	bad := func(field string, err error) error {
		return fieldErr(field, fmt.Errorf("%w: %v", ErrBadGeoJSON, syntaxErr(err)))
	}
	tok, err := dec.ReadToken()
	if err != nil {
		return bad("type", err)
	}
	if tok.Kind() != '{' {
		return fieldErr("type", fmt.Errorf("%w: want a Feature object, got %s", ErrBadGeoJSON, kindName(tok.Kind())))
	}
	var typ, id, propID string
	hasGeometry := false
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return bad("type", err)
		}
		// A token is voided by the decoder's next call: keep its text.
		member := name.String()
		switch member {
		case "type":
			v, err := dec.ReadToken()
			if err != nil {
				return bad("type", err)
			}
			typ = v.String()
			if v.Kind() != '"' {
				typ = kindName(v.Kind())
			}
		case "id":
			if id, err = readID(dec); err != nil {
				return fieldErr("id", err)
			}
		case "geometry":
			if dec.PeekKind() == 'n' {
				dec.ReadToken()
				continue
			}
			g, err := readGeometry(dec)
			if err != nil {
				return fieldErr("geometry", err)
			}
			f.Geometry, hasGeometry = g, true
		case "properties":
			if propID, err = d.readProperties(f); err != nil {
				return err
			}
		case "solid": // a foreign member: the feature's 3D shape (solid.go)
			v, err := dec.ReadValue()
			if err != nil {
				return bad("solid", err)
			}
			if v.Kind() != 'n' {
				if f.Solid, f.Surfaces, err = decodeSolid(json.RawMessage(v)); err != nil {
					return err
				}
			}
		case "crs":
			if err := checkCRS(dec); err != nil {
				return err
			}
		default:
			if err := dec.SkipValue(); err != nil {
				return bad(member, err)
			}
		}
	}
	if typ != "Feature" {
		return fieldErr("type", fmt.Errorf("%w: %q, want \"Feature\"", ErrBadGeoJSON, typ))
	}
	// The id: the feature's own id member, or else properties.id.
	if id == "" {
		id = propID
	}
	if id == "" {
		return fieldErr("id", twin.ErrMissingID)
	}
	f.ID = id
	if f.Status == "" {
		f.Status = twin.Standing
	}
	if f.Confidence == "" {
		f.Confidence = twin.Guess
	}
	if !hasGeometry {
		return fieldErr("geometry", twin.ErrNoGeometry)
	}
	return nil
}

// readID reads an id: a string or a whole number.
func readID(dec *jsontext.Decoder) (string, error) {
	v, err := dec.ReadToken()
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadGeoJSON, syntaxErr(err))
	}
	switch v.Kind() {
	case '"':
		return v.String(), nil
	case '0':
		n := v.Float()
		if n != math.Trunc(n) || math.IsInf(n, 0) {
			return "", fmt.Errorf("want a string or an integer, got %v", n)
		}
		return strconv.FormatFloat(n, 'f', -1, 64), nil
	case 'n':
		return "", nil
	}
	return "", fmt.Errorf("want a string, got %s", kindName(v.Kind()))
}

// readProperties reads the properties object into f: the schema's own
// fields into f's fields, checked for their type, every other string,
// number or boolean into f.Props. It returns properties.id.
func (d *featureDecoder) readProperties(f *twin.Feature) (string, error) {
	dec := d.dec
	tok, err := dec.ReadToken()
	if err != nil {
		return "", fieldErr("properties", fmt.Errorf("%w: %v", ErrBadGeoJSON, syntaxErr(err)))
	}
	if tok.Kind() == 'n' {
		return "", nil
	}
	if tok.Kind() != '{' {
		return "", fieldErr("properties", fmt.Errorf("%w: want an object, got %s", ErrBadGeoJSON, kindName(tok.Kind())))
	}
	var id string
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return "", fieldErr("properties", fmt.Errorf("%w: %v", ErrBadGeoJSON, syntaxErr(err)))
		}
		k := name.String()
		v, err := readScalar(dec)
		if err != nil {
			return "", propErr(k, err)
		}
		switch k {
		case twin.PropID:
			if id, err = stringish(v); err != nil {
				return "", propErr(k, err)
			}
		case twin.PropKind:
			f.Kind, err = optString(v)
			f.Kind = d.intern(f.Kind)
		case twin.PropName:
			f.Name, err = optString(v)
		case twin.PropLineage:
			f.Lineage, err = optString(v)
		case twin.PropSource:
			f.Source, err = optString(v)
			f.Source = d.intern(f.Source)
		case twin.PropStatus:
			var s string
			if s, err = optString(v); err == nil {
				f.Status, err = twin.ParseStatus(s)
			}
		case twin.PropConfidence:
			var s string
			if s, err = optString(v); err == nil {
				f.Confidence, err = twin.ParseConfidence(s)
			}
		case twin.PropFrom:
			f.Life.From, err = optInstant(v)
		case twin.PropTo:
			f.Life.To, err = optInstant(v)
		case twin.PropHeight:
			f.Height, err = optNumber(v)
		case twin.PropBase:
			f.Base, err = optNumber(v)
		default:
			if v.kind == 0 {
				continue // null: absent
			}
			if f.Props == nil {
				f.Props = map[string]any{}
			}
			f.Props[k] = v.any()
		}
		if err != nil {
			return "", propErr(k, err)
		}
	}
	dec.ReadToken()
	return id, nil
}

// scalar is a property's value: a string, a number, a boolean or null
// (kind 0).
type scalar struct {
	kind jsontext.Kind // '"', '0', 't' (true or false) or 0
	s    string
	n    float64
	b    bool
}

func (v scalar) any() any {
	switch v.kind {
	case '"':
		return v.s
	case '0':
		return v.n
	case 't':
		return v.b
	}
	return nil
}

func (v scalar) String() string {
	switch v.kind {
	case '"':
		return strconv.Quote(v.s)
	case '0':
		return strconv.FormatFloat(v.n, 'g', -1, 64)
	case 't':
		return strconv.FormatBool(v.b)
	}
	return "null"
}

func readScalar(dec *jsontext.Decoder) (scalar, error) {
	switch k := dec.PeekKind(); k {
	case '{', '[':
		if err := dec.SkipValue(); err != nil {
			return scalar{}, fmt.Errorf("%w: %v", ErrBadGeoJSON, syntaxErr(err))
		}
		return scalar{}, fmt.Errorf("want a string, number or boolean, got %s", kindName(k))
	}
	v, err := dec.ReadToken()
	if err != nil {
		return scalar{}, fmt.Errorf("%w: %v", ErrBadGeoJSON, syntaxErr(err))
	}
	switch v.Kind() {
	case '"':
		return scalar{kind: '"', s: v.String()}, nil
	case '0':
		return scalar{kind: '0', n: v.Float()}, nil
	case 't', 'f':
		return scalar{kind: 't', b: v.Bool()}, nil
	}
	return scalar{}, nil
}

func stringish(v scalar) (string, error) {
	switch v.kind {
	case 0:
		return "", nil
	case '"':
		return v.s, nil
	case '0':
		if v.n != math.Trunc(v.n) || math.IsInf(v.n, 0) {
			return "", fmt.Errorf("want a string or an integer, got %v", v)
		}
		return strconv.FormatFloat(v.n, 'f', -1, 64), nil
	}
	return "", fmt.Errorf("want a string, got %v", v)
}

func optString(v scalar) (string, error) {
	switch v.kind {
	case 0:
		return "", nil
	case '"':
		return v.s, nil
	}
	return "", fmt.Errorf("want a string, got %v", v)
}

func optNumber(v scalar) (float64, error) {
	switch v.kind {
	case 0:
		return 0, nil
	case '0':
		return v.n, nil
	}
	return 0, fmt.Errorf("want a number, got %v", v)
}

func optInstant(v scalar) (time.Time, error) {
	switch v.kind {
	case 0:
		return time.Time{}, nil
	case '"':
		return twin.ParseInstant(v.s)
	case '0':
		if v.n < 0 || v.n >= 10000 {
			return time.Time{}, fmt.Errorf("year %v out of range", v.n)
		}
		return twin.FromDecimalYear(v.n), nil
	}
	return time.Time{}, fmt.Errorf("want a date string or a year, got %v", v)
}

// readGeometry reads a GeoJSON geometry object. Positions keep longitude
// and latitude; an altitude is read and dropped.
func readGeometry(dec *jsontext.Decoder) (orb.Geometry, error) {
	bad := func(err error) error { return fmt.Errorf("%w: %v", ErrBadGeoJSON, syntaxErr(err)) }
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, bad(err)
	}
	if tok.Kind() != '{' {
		return nil, fmt.Errorf("%w: want an object, got %s", ErrBadGeoJSON, kindName(tok.Kind()))
	}
	var typ string
	var coords jsontext.Value // coordinates met before the type
	var g orb.Geometry
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return nil, bad(err)
		}
		switch name.String() {
		case "type":
			if typ, err = readType(dec); err != nil {
				return nil, err
			}
		case "coordinates":
			if typ == "" {
				v, err := dec.ReadValue()
				if err != nil {
					return nil, bad(err)
				}
				coords = v.Clone()
				continue
			}
			if g, err = readCoordinates(dec, typ); err != nil {
				return nil, err
			}
		case "crs":
			if err := checkCRS(dec); err != nil {
				return nil, err
			}
		default:
			if err := dec.SkipValue(); err != nil {
				return nil, bad(err)
			}
		}
	}
	dec.ReadToken()
	if coords != nil && typ != "" {
		d := jsontext.NewDecoder(bytes.NewReader(coords))
		if g, err = readCoordinates(d, typ); err != nil {
			return nil, err
		}
	}
	if typ == "" {
		return nil, fmt.Errorf("%w: a geometry without a type", ErrBadGeoJSON)
	}
	if g == nil {
		if depthOf(typ) < 0 {
			return nil, fmt.Errorf("%w: unsupported geometry type %q", ErrBadGeoJSON, typ)
		}
		return nil, fmt.Errorf("%w: a %s without coordinates", ErrBadGeoJSON, typ)
	}
	return g, nil
}

// depthOf is the nesting of a geometry type's coordinates above its
// positions, or -1 for a type the twin does not read.
func depthOf(typ string) int {
	switch typ {
	case "Point":
		return 0
	case "MultiPoint", "LineString":
		return 1
	case "MultiLineString", "Polygon":
		return 2
	case "MultiPolygon":
		return 3
	}
	return -1
}

func readCoordinates(dec *jsontext.Decoder, typ string) (orb.Geometry, error) {
	bad := func(err error) error { return fmt.Errorf("%w: coordinates: %v", ErrBadGeoJSON, syntaxErr(err)) }
	var err error
	switch typ {
	case "Point":
		var p orb.Point
		p, err = readPosition(dec)
		if err == nil {
			return p, nil
		}
	case "MultiPoint":
		var ps []orb.Point
		if ps, err = readPositions(dec); err == nil {
			return orb.MultiPoint(ps), nil
		}
	case "LineString":
		var ps []orb.Point
		if ps, err = readPositions(dec); err == nil {
			return orb.LineString(ps), nil
		}
	case "MultiLineString":
		var ls [][]orb.Point
		if ls, err = readRings(dec); err == nil {
			ml := make(orb.MultiLineString, len(ls))
			for i, l := range ls {
				ml[i] = l
			}
			return ml, nil
		}
	case "Polygon":
		var rs [][]orb.Point
		if rs, err = readRings(dec); err == nil {
			return polygon(rs), nil
		}
	case "MultiPolygon":
		if _, err = openArray(dec); err != nil {
			break
		}
		mp := orb.MultiPolygon{}
		for dec.PeekKind() != ']' {
			var rs [][]orb.Point
			if rs, err = readRings(dec); err != nil {
				return nil, err
			}
			mp = append(mp, polygon(rs))
		}
		dec.ReadToken()
		return mp, nil
	default:
		if err := dec.SkipValue(); err != nil {
			return nil, bad(err)
		}
		return nil, fmt.Errorf("%w: unsupported geometry type %q", ErrBadGeoJSON, typ)
	}
	return nil, err
}

func polygon(rs [][]orb.Point) orb.Polygon {
	p := make(orb.Polygon, len(rs))
	for i, r := range rs {
		p[i] = r
	}
	return p
}

var errWantArray = fmt.Errorf("%w: coordinates: want an array", ErrBadGeoJSON)

func openArray(dec *jsontext.Decoder) (bool, error) {
	if dec.PeekKind() != '[' {
		if _, err := dec.ReadToken(); err != nil {
			return false, fmt.Errorf("%w: coordinates: %v", ErrBadGeoJSON, syntaxErr(err))
		}
		return false, errWantArray
	}
	_, err := dec.ReadToken()
	return true, err
}

// readPosition reads [lon, lat] or [lon, lat, alt].
func readPosition(dec *jsontext.Decoder) (orb.Point, error) {
	if _, err := openArray(dec); err != nil {
		return orb.Point{}, err
	}
	var p orb.Point
	n := 0
	for dec.PeekKind() != ']' {
		v, err := dec.ReadToken()
		if err != nil {
			return p, fmt.Errorf("%w: coordinates: %v", ErrBadGeoJSON, syntaxErr(err))
		}
		if v.Kind() != '0' {
			return p, fmt.Errorf("%w: coordinates: want a number, got %s", ErrBadGeoJSON, kindName(v.Kind()))
		}
		if n < 2 {
			p[n] = v.Float()
		}
		n++
	}
	dec.ReadToken()
	if n < 2 {
		return p, fmt.Errorf("%w: coordinates: a position has %d numbers, want 2 or 3", ErrBadGeoJSON, n)
	}
	return p, nil
}

func readPositions(dec *jsontext.Decoder) ([]orb.Point, error) {
	if _, err := openArray(dec); err != nil {
		return nil, err
	}
	ps := make([]orb.Point, 0, 8)
	for dec.PeekKind() != ']' {
		p, err := readPosition(dec)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	dec.ReadToken()
	return ps, nil
}

func readRings(dec *jsontext.Decoder) ([][]orb.Point, error) {
	if _, err := openArray(dec); err != nil {
		return nil, err
	}
	var rs [][]orb.Point
	for dec.PeekKind() != ']' {
		r, err := readPositions(dec)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	dec.ReadToken()
	return rs, nil
}
