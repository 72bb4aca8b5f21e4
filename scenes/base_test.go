package scenes

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
)

func TestCheckWritable(t *testing.T) {
	base := func(l twin.Layer, props map[string]any) *twin.Feature {
		return &twin.Feature{ID: "a", Layer: l, Kind: "lake", Geometry: orb.Point{20, 67},
			Life: twin.Lifespan{From: time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)}, Props: props}
	}
	cases := []struct {
		name  string
		f     *twin.Feature
		field string // "" when writable
	}{
		{"water feature", base(Water, map[string]any{"ele": 499.1, "name_en": "Lake"}), ""},
		{"land use", base(Landuse, nil), ""},
		{"height as a string", base(twin.Infrastructure, map[string]any{"height": "3.2"}), "properties.height"},
		{"from as a property", base(twin.Buildings, map[string]any{"from": 1900.0}), "properties.from"},
		{"NaN", base(twin.Landmarks, map[string]any{"ele": math.NaN()}), "properties.ele"},
		{"a list", base(twin.Landmarks, map[string]any{"tags": []string{"a"}}), "properties.tags"},
		{"an unknown layer", base("roads", nil), "layer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CheckWritable(c.f)
			if c.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var fe *twin.FieldError
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Fatalf("got %v, want an error on %s", err, c.field)
			}
		})
	}
}
