package twin

import (
	"errors"
	"fmt"
	"strings"
)

// Layer names a group of features that is drawn and served together.
type Layer string

// The layers of the registry, by name, for the code that writes a
// particular one (generators, importers). Everything else reads the
// registry: see Layers.
const (
	Landuse        Layer = "landuse"
	Water          Layer = "water"
	Zones          Layer = "zones"
	Infrastructure Layer = "infrastructure"
	Buildings      Layer = "buildings"
	Pilots         Layer = "pilots"
	Sensors        Layer = "sensors"
	Landmarks      Layer = "landmarks"
)

// GeometryKind says what geometry a layer holds.
type GeometryKind string

// The geometry kinds of layers.
const (
	PolygonLayer GeometryKind = "polygon"
	LineLayer    GeometryKind = "line"
	PointLayer   GeometryKind = "point"
	MixedLayer   GeometryKind = "mixed" // polygons, lines and points
)

// LayerSpec is one entry of the layer registry: what a layer is, how it is
// drawn and who may write it. Every part of the twin that treats layers
// differently (tiles, features, pilots, importers, the style) asks the
// spec, never the layer's name.
type LayerSpec struct {
	ID       Layer
	Geometry GeometryKind
	// Titles by language ("sv", "en"): the layer's name in the viewer and
	// in the collections, unless a scene names it otherwise.
	Titles map[string]string
	// Extruded layers draw their areas in 3D, from base to base + height:
	// every area carries height and base.
	Extruded bool
	// Statuses: every feature carries its status (standing, demolished,
	// moved, planned).
	Statuses bool
	// Writable by companies (pilot layers); the scene's layers are not.
	Writable bool
	// Base layers are the ground: flat, drawn under everything else.
	Base bool
	// Labels: named points that are never dropped to keep a tile small.
	Labels bool
	// Fields are the further fields the twin itself gives every feature
	// of the layer (beyond the schema's), with their types.
	Fields []Field
}

// Title returns the layer's title in lang, falling back to Swedish, then
// to its id.
func (s LayerSpec) Title(lang string) string {
	if t := s.Titles[lang]; t != "" {
		return t
	}
	if t := s.Titles["sv"]; t != "" {
		return t
	}
	return string(s.ID)
}

// registry lists every layer, in drawing order (bottom first). Adding a
// layer is one entry here plus its style (static/style.json) and its
// words in the viewer (static/app/i18n.js); see the README, "Adding a
// layer". It is never modified.
var registry = []LayerSpec{
	{ID: Landuse, Geometry: PolygonLayer, Base: true,
		Titles: map[string]string{"sv": "Mark", "en": "Land"}},
	{ID: Water, Geometry: MixedLayer, Base: true,
		Titles: map[string]string{"sv": "Vatten", "en": "Water"}},
	{ID: Zones, Geometry: PolygonLayer,
		Titles: map[string]string{"sv": "Zoner", "en": "Zones"}},
	{ID: Infrastructure, Geometry: LineLayer,
		Titles: map[string]string{"sv": "Infrastruktur", "en": "Infrastructure"}},
	{ID: Buildings, Geometry: PolygonLayer, Extruded: true, Statuses: true,
		Titles: map[string]string{"sv": "Byggnader", "en": "Buildings"}},
	{ID: Pilots, Geometry: MixedLayer, Extruded: true, Writable: true,
		Titles: map[string]string{"sv": "Pilotprojekt", "en": "Pilots"},
		Fields: []Field{{Name: PropPilot, Type: StringField}, {Name: PropCompany, Type: StringField}}},
	{ID: Sensors, Geometry: PointLayer,
		Titles: map[string]string{"sv": "Sensorer", "en": "Sensors"}},
	{ID: Landmarks, Geometry: PointLayer, Labels: true,
		Titles: map[string]string{"sv": "Platser", "en": "Places"}},
}

// Layers returns the registry, in drawing order (bottom first). The slice
// is a copy; the specs' maps and slices are shared and must not be
// modified.
func Layers() []LayerSpec { return append([]LayerSpec(nil), registry...) }

// LayerIDs returns every layer's id, in drawing order.
func LayerIDs() []Layer {
	out := make([]Layer, len(registry))
	for i, s := range registry {
		out[i] = s.ID
	}
	return out
}

// Spec returns the registry entry of layer l.
func (l Layer) Spec() (LayerSpec, bool) {
	if i := layerIndex(l); i >= 0 {
		return registry[i], true
	}
	return LayerSpec{}, false
}

// ErrUnknownLayer marks a layer name that is not in the registry.
var ErrUnknownLayer = errors.New("unknown layer")

// ParseLayer returns the layer named s, or an error naming the known layers.
func ParseLayer(s string) (Layer, error) {
	if layerIndex(Layer(s)) >= 0 {
		return Layer(s), nil
	}
	names := make([]string, len(registry))
	for i, l := range registry {
		names[i] = string(l.ID)
	}
	return "", fmt.Errorf("%w %q (known: %s)", ErrUnknownLayer, s, strings.Join(names, ", "))
}

// layerIndex is the position of l in the registry, or -1.
func layerIndex(l Layer) int {
	for i := range registry {
		if registry[i].ID == l {
			return i
		}
	}
	return -1
}
