package osm

import (
	"fmt"

	"github.com/kiruna-twin/kiruna-twin/scenes/internal/footprint"
	"github.com/kiruna-twin/kiruna-twin/scenes/shape"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
	posm "github.com/paulmach/osm"
	"github.com/tidwall/rtree"
)

// Buildings in 3D, after OpenStreetMap's Simple 3D Buildings: a building
// tagged roof:shape=gabled, hipped or pyramidal gets that roof (LoD2); a
// building with building:part ways inside its outline gets the solid of
// its parts, each from its own min_height to its height with its own roof.
// The outline stays the building's footprint, so it is drawn once: as its
// parts where a viewer draws solids, as its outline elsewhere.

// DefaultRoofHeight is the height of a pitched roof that gives neither
// roof:height nor roof:levels, at most half the building's height.
const DefaultRoofHeight = 3.0

// part is a building:part way, ready to join its building.
type osmPart struct {
	oid  string
	poly orb.Polygon
	tags posm.Tags
}

// shapes gives blds their solids: from their parts, or from their roofs.
func (b *builder) shapes(blds []*twin.Feature) {
	parts := b.parts()
	var idx rtree.RTreeG[int]
	for i, f := range blds {
		bd := f.Geometry.Bound()
		idx.Insert(bd.Min, bd.Max, i)
	}
	byBuilding := map[int][]osmPart{}
	for _, p := range parts {
		c, _ := planar.CentroidArea(p.poly)
		owner := -1
		idx.Search(c, c, func(_, _ [2]float64, i int) bool {
			if contains(blds[i].Geometry, c) {
				owner = i
				return false
			}
			return true
		})
		if owner < 0 {
			b.res.skip(p.oid, "a building:part outside every building of the extract")
			continue
		}
		byBuilding[owner] = append(byBuilding[owner], p)
	}
	for i, f := range blds {
		var ps []shape.Part
		if own := byBuilding[i]; len(own) > 0 {
			for _, p := range own {
				ps = append(ps, roofPart(p.poly, p.tags))
			}
			f.Props["parts"] = float64(len(own))
		} else if r, ok := shape.ParseRoof(f.Prop("roof:shape")); ok && r != shape.Flat {
			for _, poly := range polygons(f.Geometry) {
				ps = append(ps, roofPart(poly, propTags(f)))
			}
		}
		if len(ps) == 0 {
			continue
		}
		s, err := shape.Build(ps...)
		if err != nil {
			continue // drawn as a block, as before
		}
		s.Apply(f)
	}
}

// parts reads the building:part ways.
func (b *builder) parts() []osmPart {
	var out []osmPart
	for i := range b.ways {
		w := &b.ways[i]
		if w.kind != buildingPart {
			continue
		}
		oid := fmt.Sprintf("way/%d", w.id)
		if len(w.refs) < 4 || w.refs[0] != w.refs[len(w.refs)-1] {
			b.res.skip(oid, "a building:part way that is not closed")
			continue
		}
		ring := make(orb.Ring, 0, len(w.refs))
		ok := true
		for _, ref := range w.refs {
			p, found := b.node(ref)
			if !found {
				b.res.skip(oid, fmt.Sprintf("node/%d is not in the file", ref))
				ok = false
				break
			}
			ring = append(ring, p)
		}
		if !ok {
			continue
		}
		ring, err := footprint.Ring(ring)
		if err != nil {
			b.res.skip(oid, "footprint: "+err.Error())
			continue
		}
		poly := orb.Polygon{ring}
		footprint.Orient(poly)
		out = append(out, osmPart{oid: oid, poly: poly, tags: w.tags})
	}
	return out
}

// roofPart makes the shape of a footprint from its tags: min_height (or
// building:min_level), height (or levels), roof:shape, roof:height (or
// roof:levels) and roof:orientation.
func roofPart(poly orb.Polygon, tags posm.Tags) shape.Part {
	top, _ := buildingTop(tags)
	base := 0.0
	if v, ok := metres(tags.Find("min_height")); ok {
		base = v
	} else if v, ok := number(tags.Find("building:min_level")); ok {
		base = v * LevelHeight
	}
	if top <= base {
		top = base + DefaultHeight
	}
	roof, _ := shape.ParseRoof(tags.Find("roof:shape"))
	rh := 0.0
	if roof != shape.Flat {
		rh = min(DefaultRoofHeight, (top-base)/2)
		if v, ok := metres(tags.Find("roof:height")); ok {
			rh = v
		} else if v, ok := number(tags.Find("roof:levels")); ok && v > 0 {
			rh = v * LevelHeight
		}
		rh = min(rh, (top-base)*0.9)
	}
	return shape.Part{Footprint: poly, Base: base, Eaves: top - rh, Top: top, Roof: roof,
		Across: tags.Find("roof:orientation") == "across"}
}

// propTags gives back the tags a building kept as properties.
func propTags(f *twin.Feature) posm.Tags {
	var t posm.Tags
	for k, v := range f.Props {
		if s, ok := v.(string); ok {
			t = append(t, posm.Tag{Key: k, Value: s})
		}
	}
	return t
}

func polygons(g orb.Geometry) []orb.Polygon {
	switch g := g.(type) {
	case orb.Polygon:
		return []orb.Polygon{g}
	case orb.MultiPolygon:
		return g
	}
	return nil
}

func contains(g orb.Geometry, p orb.Point) bool {
	for _, poly := range polygons(g) {
		if planar.PolygonContains(poly, p) {
			return true
		}
	}
	return false
}
