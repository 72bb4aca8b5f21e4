package scenes

import (
	"errors"
	"fmt"
	"math"

	"github.com/kiruna-twin/kiruna-twin/twin"
)

// The base layers under the town: water (lakes, rivers: polygons and
// lines) and land use (mine, industrial, rail yard, forest, wetland, park…;
// kind says which). Importers and the built-in scene write them as
// water.geojson and landuse.geojson.
//
// Until twin's layer registry knows them, they are "pending": a bundle
// holds their files but its scene.json does not list them, so that the
// loader still loads it. Wiring them in is one line: BaseLayersListed.
const (
	Water   twin.Layer = "water"
	Landuse twin.Layer = "landuse"
)

// BaseLayers are the base layers, bottom first.
var BaseLayers = []twin.Layer{Water, Landuse}

// BaseLayersListed says whether scene.json lists the base layers. It turns
// true when twin's layer registry knows them.
const BaseLayersListed = false

// IsBaseLayer reports whether l is one of the base layers.
func IsBaseLayer(l twin.Layer) bool { return l == Water || l == Landuse }

// Validate checks f as the loader will. A feature of a base layer that
// twin does not know yet is checked as a zone, which has the same rules.
func Validate(f *twin.Feature) error {
	if IsBaseLayer(f.Layer) {
		if _, err := twin.ParseLayer(string(f.Layer)); err != nil {
			g := *f
			g.Layer = twin.Zones
			return g.Validate()
		}
	}
	return f.Validate()
}

// ErrNotWritable marks a feature that the bundle's loader would refuse.
var ErrNotWritable = errors.New("would not load")

// CheckWritable checks that f, written with EncodeProperties, loads back:
// it validates, none of its further properties takes the name of one the
// loader reads itself (height, from, …), and every value is a string, a
// finite number or a boolean. Writers call it before writing anything.
func CheckWritable(f *twin.Feature) error {
	if err := Validate(f); err != nil {
		return err
	}
	for k, v := range f.Props {
		if reservedProps[k] {
			return &twin.FieldError{Field: "properties." + k, Err: fmt.Errorf("%w: %q is a property the loader reads itself; set the feature's field", ErrNotWritable, k)}
		}
		switch v := v.(type) {
		case string, bool:
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return &twin.FieldError{Field: "properties." + k, Err: fmt.Errorf("%w: %v is not a finite number", ErrNotWritable, v)}
			}
		default:
			return &twin.FieldError{Field: "properties." + k, Err: fmt.Errorf("%w: want a string, number or boolean, got %T", ErrNotWritable, v)}
		}
	}
	return nil
}
