package scenes

import (
	"errors"
	"fmt"
	"math"

	"github.com/kiruna-twin/kiruna-twin/twin"
)

// The base layers under the town, as importers write them.
const (
	Water   = twin.Water
	Landuse = twin.Landuse
)

// BaseLayers are the registry's base layers, bottom first.
var BaseLayers = func() []twin.Layer {
	var out []twin.Layer
	for _, s := range twin.Layers() {
		if s.Base {
			out = append(out, s.ID)
		}
	}
	return out
}()

// IsBaseLayer reports whether l is a base layer of the registry.
func IsBaseLayer(l twin.Layer) bool {
	s, _ := l.Spec()
	return s.Base
}

// Validate checks f as the loader will.
func Validate(f *twin.Feature) error { return f.Validate() }

// ErrNotWritable marks a feature that the bundle's loader would refuse.
var ErrNotWritable = errors.New("would not load")

// CheckWritable checks that f, written with the schema's properties
// (twin.Feature.Properties), loads back:
// it validates, none of its further properties takes the name of one the
// loader reads itself (height, from, …), and every value is a string, a
// finite number or a boolean. Writers call it before writing anything.
func CheckWritable(f *twin.Feature) error {
	if err := Validate(f); err != nil {
		return err
	}
	for k, v := range f.Props {
		if twin.IsReserved(k) {
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
