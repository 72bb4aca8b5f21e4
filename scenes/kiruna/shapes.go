package kiruna

import (
	"fmt"
	"math"

	"github.com/kiruna-twin/kiruna-twin/scenes/shape"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
)

// The landmarks in 3D (LoD2): the church at both its sites, with its steep
// roof like a Sámi kåta and its roof turret, and its separate bell tower;
// Kristallen, round and wider above its entrance floor; the old town hall;
// Hjalmar Lundbohmsgården; the old and the temporary station. Their
// dimensions are rows of facts/shapes.csv, each with its confidence and
// source; the shapes are made by package scenes/shape.

// shapeFacts holds facts/shapes.csv: building → part → dimension → value.
type shapeFacts map[string]map[string]map[string]float64

func readShapes() (shapeFacts, error) {
	rows, err := readCSV("shapes.csv")
	if err != nil {
		return nil, err
	}
	out := shapeFacts{}
	for i, r := range rows {
		v, err := float(r, "value")
		if err != nil {
			return nil, fmt.Errorf("facts/shapes.csv row %d: %w", i+2, err)
		}
		if r["source"] == "" || r["confidence"] == "" {
			return nil, fmt.Errorf("facts/shapes.csv row %d: every dimension needs its source and confidence", i+2)
		}
		b, p := r["building"], r["part"]
		if out[b] == nil {
			out[b] = map[string]map[string]float64{}
		}
		if out[b][p] == nil {
			out[b][p] = map[string]float64{}
		}
		out[b][p][r["dimension"]] = v
	}
	return out, nil
}

// dim returns a dimension, or panics: the facts and the code below are
// kept together, and a test builds the scene.
func (s shapeFacts) dim(building, part, name string) float64 {
	v, ok := s[building][part][name]
	if !ok {
		panic(fmt.Sprintf("kiruna: facts/shapes.csv has no %s of %s's %s", name, building, part))
	}
	return v
}

// shapeLandmarks gives the placed buildings of the story their solids.
func shapeLandmarks(fs []*twin.Feature) error {
	facts, err := readShapes()
	if err != nil {
		return err
	}
	for _, f := range fs {
		key := f.Lineage
		if key == "" {
			key = f.ID
		}
		poly, ok := f.Geometry.(orb.Polygon)
		if !ok {
			continue
		}
		c := poly.Bound().Center()
		angle := edgeAngle(poly)
		var parts []shape.Part
		switch key {
		case "kiruna-kyrka":
			top := facts.dim(key, "church", "roof_top_m")
			parts = []shape.Part{
				{Footprint: poly, Eaves: facts.dim(key, "church", "eaves_m"), Top: top, Roof: shape.Pyramidal},
				// The turret stands on the roof: its foot is inside it.
				{Footprint: rect(c, facts.dim(key, "roof_tower", "width_m"), facts.dim(key, "roof_tower", "width_m"), angle),
					Base: top - 4, Eaves: facts.dim(key, "roof_tower", "eaves_m"), Top: facts.dim(key, "roof_tower", "top_m"), Roof: shape.Pyramidal},
			}
		case "kiruna-kyrka-klockstapel":
			parts = []shape.Part{{Footprint: poly, Eaves: facts.dim(key, "tower", "eaves_m"), Top: facts.dim(key, "tower", "top_m"), Roof: shape.Pyramidal}}
		case "kristallen-stadshus":
			low := facts.dim(key, "entrance_floor", "top_m")
			top := facts.dim(key, "office_floors", "top_m")
			parts = []shape.Part{
				{Footprint: circle(c, facts.dim(key, "entrance_floor", "diameter_m")/2, 48), Eaves: low, Top: low},
				{Footprint: circle(c, facts.dim(key, "office_floors", "diameter_m")/2, 48), Base: low, Eaves: top, Top: top},
			}
		case "stadshuset-1963":
			hall := facts.dim(key, "hall", "top_m")
			parts = []shape.Part{
				{Footprint: poly, Eaves: hall, Top: hall},
				{Footprint: rect(c, facts.dim(key, "council_block", "width_m"), facts.dim(key, "council_block", "length_m"), angle),
					Base: hall - 0.5, Eaves: facts.dim(key, "council_block", "top_m"), Top: facts.dim(key, "council_block", "top_m")},
			}
		case "hjalmar-lundbohmsgarden":
			parts = []shape.Part{{Footprint: poly, Eaves: facts.dim(key, "house", "eaves_m"), Top: facts.dim(key, "house", "top_m"), Roof: shape.Hipped}}
		case "kiruna-c-1900", "tillfallig-station":
			parts = []shape.Part{{Footprint: poly, Eaves: facts.dim(key, "station", "eaves_m"), Top: facts.dim(key, "station", "top_m"), Roof: shape.Gabled}}
		default:
			continue
		}
		s, err := shape.Build(parts...)
		if err != nil {
			return fmt.Errorf("the shape of %s: %w", f.ID, err)
		}
		s.Apply(f)
		if f.Props == nil {
			f.Props = map[string]any{}
		}
		f.Props["lod"] = "2"
		f.Props["shape_source"] = "facts/shapes.csv (each dimension with its confidence and source)"
	}
	return nil
}

// edgeAngle is the direction of a footprint's first edge, in degrees, for
// parts laid the same way.
func edgeAngle(p orb.Polygon) float64 {
	a, b := p[0][0], p[0][1]
	dx := (b[0] - a[0]) * math.Cos(a[1]*math.Pi/180)
	return math.Atan2(b[1]-a[1], dx) * 180 / math.Pi
}
