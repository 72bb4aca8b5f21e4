package twin

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/paulmach/orb"
)

// The feature schema: the properties the twin itself gives a feature,
// their types, and how they are written. Every writer — bundle GeoJSON,
// OGC API items, the pilots API, MVT tags, TileJSON's vector_layers, 3D
// Tiles metadata — takes a feature's properties from EachProperty and a
// layer's fields from LayerSpec.WireFields, so that they cannot disagree.

// The names of the schema's properties.
const (
	PropID         = "id"
	PropName       = "name"
	PropKind       = "kind"
	PropFrom       = "from"
	PropTo         = "to"
	PropHeight     = "height"
	PropBase       = "base"
	PropStatus     = "status"
	PropLineage    = "lineage"
	PropSource     = "source"
	PropConfidence = "confidence"
	PropHasSolid   = "has_solid" // true when the feature has a 3D shape (Feature.Solid)

	// Set by the twin on companies' features, kept in Feature.Props.
	PropPilot       = "pilot"        // the pilot layer a feature belongs to
	PropCompany     = "company"      // the company that uploaded it
	PropFromDefault = "from_default" // true: no from was given, it begins at its upload
)

// FieldType is a property's type, as TileJSON names them, plus Time.
type FieldType string

// The field types. A Time is written as a decimal year in tiles and as an
// RFC 3339 string in JSON (see TimeForm).
const (
	StringField  FieldType = "String"
	NumberField  FieldType = "Number"
	BooleanField FieldType = "Boolean"
	TimeField    FieldType = "Time"
)

// Field is one property of the schema.
type Field struct {
	Name string
	Type FieldType
}

// schema is the feature's own fields, in the order writers emit them.
// Feature.Props never holds these names: decoders read them into the
// Feature's fields, and a further property of the same name is dropped.
var schema = []Field{
	{PropID, StringField}, {PropName, StringField}, {PropKind, StringField},
	{PropFrom, TimeField}, {PropTo, TimeField},
	{PropHeight, NumberField}, {PropBase, NumberField},
	{PropStatus, StringField}, {PropLineage, StringField},
	{PropSource, StringField}, {PropConfidence, StringField},
	{PropHasSolid, BooleanField},
}

// Schema returns the feature's own fields in the order they are written.
func Schema() []Field { return slices.Clone(schema) }

// IsReserved reports whether name is one of the schema's own fields, which
// a further property may not take.
func IsReserved(name string) bool {
	for _, f := range schema {
		if f.Name == name {
			return true
		}
	}
	return false
}

// CompanyRule says what a company's feature (a pilot's) may do with a
// property.
type CompanyRule uint8

// The rules.
const (
	// CompanyGives: the company's upload gives it (some values may be
	// refused, see CompanyField.Refused).
	CompanyGives CompanyRule = iota + 1
	// CompanyRefused: the scene's own; an upload that gives it is refused,
	// naming the property.
	CompanyRefused
	// TwinGives: the twin gives it on every company feature, and replaces
	// whatever the upload said.
	TwinGives
)

// CompanyField is one property of the schema, or one the twin sets, and
// what a company may do with it.
type CompanyField struct {
	Name string
	Rule CompanyRule
	// Refused lists the values a company may not give (for CompanyGives).
	Refused []string
	// Why is said when an upload is refused for this property.
	Why string
}

// companyFields is the one list of what a company may set on its
// features: every field of the schema and every property the twin sets.
// A property not listed is a further property, which a company may give
// freely (a further property may never take a schema name).
var companyFields = []CompanyField{
	{Name: PropID, Rule: CompanyGives}, {Name: PropName, Rule: CompanyGives}, {Name: PropKind, Rule: CompanyGives},
	{Name: PropFrom, Rule: CompanyGives}, {Name: PropTo, Rule: CompanyGives},
	{Name: PropHeight, Rule: CompanyGives}, {Name: PropBase, Rule: CompanyGives},
	{Name: PropStatus, Rule: CompanyGives, Refused: []string{string(Moved)},
		Why: "a company's feature may be standing, demolished or planned; moved sites are the scene's own buildings"},
	{Name: PropLineage, Rule: CompanyRefused,
		Why: "lineages join the sites of the scene's own buildings; a company's feature may not join one"},
	// Replaced by the twin whatever the upload says (CompanyGiven, and
	// scenes/upload for from_default).
	{Name: PropSource, Rule: TwinGives},      // the company's name
	{Name: PropConfidence, Rule: TwinGives},  // none: the twin does not vouch for a company's positions
	{Name: PropPilot, Rule: TwinGives},       // the pilot the feature belongs to
	{Name: PropCompany, Rule: TwinGives},     // the company that uploaded it
	{Name: PropFromDefault, Rule: TwinGives}, // true when the upload gave no from
	{Name: PropHasSolid, Rule: TwinGives},    // true when the feature has a 3D shape
}

// CompanyFields returns what a company may set on its features.
func CompanyFields() []CompanyField { return slices.Clone(companyFields) }

// ErrNotForCompanies: a company's upload gave a property that is the
// scene's or the twin's.
var ErrNotForCompanies = errors.New("not for a company to set")

// CheckCompanyFeature checks a feature a company uploads, as decoded,
// against the list of company fields: a property that is the scene's own
// (lineage) or a value that is (status moved) is a *FieldError naming
// it, wrapping ErrNotForCompanies. What the twin gives (TwinGives) is
// not checked: it is replaced.
func CheckCompanyFeature(f *Feature) error {
	for _, c := range companyFields {
		var v string
		switch c.Name {
		case PropStatus:
			v = string(f.Status)
		case PropLineage:
			v = f.Lineage
		default:
			continue
		}
		switch {
		case c.Rule == CompanyRefused && v != "":
			return fieldErr("properties."+c.Name, fmt.Errorf("%w: %s", ErrNotForCompanies, c.Why))
		case c.Rule == CompanyGives && slices.Contains(c.Refused, v):
			return fieldErr("properties."+c.Name, fmt.Errorf("%w: %q: %s", ErrNotForCompanies, v, c.Why))
		}
	}
	return nil
}

// CompanyGiven sets on a company's feature what the twin gives every
// company feature (the TwinGives fields): its source is the company, it
// has no confidence, and the properties pilot and company name its pilot
// and its company. Props is replaced by a copy.
func CompanyGiven(f *Feature, company, pilot string) {
	f.Source, f.Confidence = company, ""
	props := make(map[string]any, len(f.Props)+2)
	for k, v := range f.Props {
		props[k] = v
	}
	props[PropPilot], props[PropCompany] = pilot, company
	f.Props = props
}

// TimeForm says how a writer writes instants.
type TimeForm uint8

// The forms of time. JSON outputs (bundle files, OGC API items, the pilots
// API) write RFC 3339 in UTC; tiles write decimal years, which the
// viewer's filters compare with the timeline's year.
const (
	RFC3339Time TimeForm = iota
	DecimalYearTime
)

// FormatTime writes t as JSON outputs do: RFC 3339 in UTC, with a fraction
// of a second only when there is one.
func FormatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// TileYear writes t as tiles do: a decimal year rounded to four places
// (under an hour), enough for any timeline and few distinct values.
func TileYear(t time.Time) float64 { return math.Round(DecimalYear(t)*1e4) / 1e4 }

// ValueKind is the type of a property value on the wire.
type ValueKind uint8

// The kinds of value.
const (
	StringValue ValueKind = iota + 1
	NumberValue
	BoolValue
)

// Value is one property value, without boxing it in an interface: tiles
// prepare millions of them.
type Value struct {
	Kind ValueKind
	Str  string
	Num  float64
	Bool bool
}

// Any returns v as a JSON encoder wants it.
func (v Value) Any() any {
	switch v.Kind {
	case NumberValue:
		return v.Num
	case BoolValue:
		return v.Bool
	}
	return v.Str
}

func strValue(s string) Value  { return Value{Kind: StringValue, Str: s} }
func numValue(n float64) Value { return Value{Kind: NumberValue, Num: n} }

// EachProperty calls fn with every property of f as it is written: the
// schema's fields first, in the schema's order, then the further
// properties sorted by name. Which of the schema's fields are written:
//   - id, name, kind and from always;
//   - to when the feature has a dated end;
//   - height and base on the areas of extruded layers, and wherever either
//     is not 0;
//   - status in layers with statuses, and wherever it is not standing;
//   - lineage, source and confidence when set;
//   - has_solid (true) when the feature has a 3D shape.
//
// Further properties that are nil, not finite or named like one of the
// schema's fields are left out; numbers of other Go types are written as
// numbers, anything else as its text.
func (f *Feature) EachProperty(tf TimeForm, fn func(key string, v Value)) {
	spec, _ := f.Layer.Spec()
	when := func(t time.Time) Value {
		if tf == DecimalYearTime {
			return numValue(TileYear(t))
		}
		return strValue(FormatTime(t))
	}
	fn(PropID, strValue(f.ID))
	fn(PropName, strValue(f.Name))
	fn(PropKind, strValue(f.Kind))
	fn(PropFrom, when(f.Life.From))
	if !f.Life.To.IsZero() {
		fn(PropTo, when(f.Life.To))
	}
	if f.Height != 0 || f.Base != 0 || spec.Extruded && isArea(f.Geometry) {
		fn(PropHeight, numValue(f.Height))
		fn(PropBase, numValue(f.Base))
	}
	if spec.Statuses || (f.Status != "" && f.Status != Standing) {
		fn(PropStatus, strValue(string(cmp.Or(f.Status, Standing))))
	}
	if f.Lineage != "" {
		fn(PropLineage, strValue(f.Lineage))
	}
	if f.Source != "" {
		fn(PropSource, strValue(f.Source))
	}
	if f.Confidence != "" {
		fn(PropConfidence, strValue(string(f.Confidence)))
	}
	if f.Solid != nil {
		fn(PropHasSolid, Value{Kind: BoolValue, Bool: true})
	}
	if len(f.Props) == 0 {
		return
	}
	var buf [16]string
	keys := buf[:0]
	for k := range f.Props {
		if !IsReserved(k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		switch v := f.Props[k].(type) {
		case nil:
		case string:
			fn(k, strValue(v))
		case bool:
			fn(k, Value{Kind: BoolValue, Bool: v})
		case float64:
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				fn(k, numValue(v))
			}
		case float32:
			fn(k, numValue(float64(v)))
		case int:
			fn(k, numValue(float64(v)))
		case int64:
			fn(k, numValue(float64(v)))
		default:
			fn(k, strValue(fmt.Sprint(v)))
		}
	}
}

func isArea(g any) bool {
	switch g.(type) {
	case orb.Polygon, orb.MultiPolygon, orb.Ring:
		return true
	}
	return false
}

// Properties returns f's properties as EachProperty writes them, as a map
// for a JSON encoder.
func (f *Feature) Properties(tf TimeForm) map[string]any {
	p := make(map[string]any, 12+len(f.Props))
	f.EachProperty(tf, func(k string, v Value) { p[k] = v.Any() })
	return p
}

// WireFields returns the fields every feature of the layer may carry and
// their types as written in form tf (a Time is a Number in tiles, a String
// in JSON), listed even while the layer is empty. Further properties are
// not among them: a writer adds those it meets.
func (s LayerSpec) WireFields(tf TimeForm) map[string]FieldType {
	out := make(map[string]FieldType, len(schema)+len(s.Fields))
	for _, f := range schema {
		switch f.Name {
		case PropHeight, PropBase:
			if !s.Extruded {
				continue
			}
		case PropStatus, PropLineage:
			if !s.Statuses {
				continue
			}
		case PropHasSolid:
			if !s.Extruded {
				continue
			}
		}
		t := f.Type
		if t == TimeField {
			t = StringField
			if tf == DecimalYearTime {
				t = NumberField
			}
		}
		out[f.Name] = t
	}
	for _, f := range s.Fields {
		out[f.Name] = f.Type
	}
	return out
}

// NumericID is the feature's number for formats whose ids are integers
// (MVT's feature id, for MapLibre's feature state): a 53-bit FNV-1a hash
// of its id, so it is the same in every tile, at every zoom and after a
// restart, and exact as a JavaScript number. Two ids may share a number
// (among a million features, with a chance of about 1 in 18 000); the id
// property stays the key.
func (f *Feature) NumericID() uint64 { return NumericID(f.ID) }

// NumericID is Feature.NumericID for an id.
func NumericID(id string) uint64 {
	h := uint64(14695981039346656037) // FNV-1a, 64 bits
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	return h & (1<<53 - 1)
}
