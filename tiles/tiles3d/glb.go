package tiles3d

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"
	"sort"

	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/qmuntal/gltf"
)

// The metadata of every feature in a tile's content, as
// EXT_structural_metadata's property table of class "feature": the
// feature schema's fields of every extruded layer of the registry (the
// fields LayerSpec.WireFields gives tiles: id, name, kind, from, to,
// height, base, status, lineage, source, confidence, and pilot and
// company for companies' features), plus the feature's layer. Values come
// from Feature.EachProperty with times as decimal years. A feature
// without a dated end has to = NoEnd (a value, not noData), so that
// "from <= year < to" holds for it at every year in any client.

// NoEnd is the "to" of a feature without a dated end.
const NoEnd = 9999.0

// PropLayer is the column that names the feature's layer.
const PropLayer = "layer"

// ClassName is the metadata class of the features.
const ClassName = "feature"

type column struct {
	name     string
	typ      twin.FieldType // String, Number or Boolean
	required bool
}

// columns lists the property table's columns, the schema's fields first
// in the schema's order, then the layers' own, then the layer.
func columns() []column {
	fields := map[string]twin.FieldType{}
	for _, spec := range twin.Layers() {
		if !spec.Extruded {
			continue
		}
		for k, t := range spec.WireFields(twin.DecimalYearTime) {
			fields[k] = t
		}
	}
	var out []column
	for _, f := range twin.Schema() {
		if t, ok := fields[f.Name]; ok {
			out = append(out, column{f.Name, t, f.Name == twin.PropID || f.Name == twin.PropFrom})
			delete(fields, f.Name)
		}
	}
	rest := make([]string, 0, len(fields))
	for k := range fields {
		rest = append(rest, k)
	}
	sort.Strings(rest)
	for _, k := range rest {
		out = append(out, column{k, fields[k], false})
	}
	return append(out, column{PropLayer, twin.StringField, true})
}

// glbWriter lays out one buffer: 8-byte aligned views, as
// EXT_structural_metadata asks of its views and glTF of its accessors.
type glbWriter struct {
	doc *gltf.Document
	buf bytes.Buffer
}

func (w *glbWriter) view(data []byte, target gltf.Target) int {
	for w.buf.Len()%8 != 0 {
		w.buf.WriteByte(0)
	}
	w.doc.BufferViews = append(w.doc.BufferViews, &gltf.BufferView{
		Buffer: 0, ByteOffset: w.buf.Len(), ByteLength: len(data), Target: target,
	})
	w.buf.Write(data)
	return len(w.doc.BufferViews) - 1
}

func (w *glbWriter) accessor(view int, ct gltf.ComponentType, at gltf.AccessorType, count int, normalized bool) int {
	w.doc.Accessors = append(w.doc.Accessors, &gltf.Accessor{
		BufferView: gltf.Index(view), ComponentType: ct, Type: at, Count: count, Normalized: normalized,
	})
	return len(w.doc.Accessors) - 1
}

func le[T any](data []T) []byte {
	var b bytes.Buffer
	_ = binary.Write(&b, binary.LittleEndian, data) // a bytes.Buffer does not fail
	return b.Bytes()
}

// encodeGLB writes the mesh of features fs (feature index i is fs[i]) as
// binary glTF with EXT_mesh_features and EXT_structural_metadata.
func encodeGLB(m *mesh, fs []*twin.Feature) ([]byte, error) {
	doc := &gltf.Document{
		Asset:          gltf.Asset{Version: "2.0", Generator: "kiruna-twin"},
		ExtensionsUsed: []string{"EXT_mesh_features", "EXT_structural_metadata"},
	}
	w := &glbWriter{doc: doc}
	nv := len(m.pos) / 3

	lo := []float64{math.Inf(1), math.Inf(1), math.Inf(1)}
	hi := []float64{math.Inf(-1), math.Inf(-1), math.Inf(-1)}
	for i, v := range m.pos {
		lo[i%3], hi[i%3] = min(lo[i%3], float64(v)), max(hi[i%3], float64(v))
	}
	pos := w.accessor(w.view(le(m.pos), gltf.TargetArrayBuffer), gltf.ComponentFloat, gltf.AccessorVec3, nv, false)
	doc.Accessors[pos].Min, doc.Accessors[pos].Max = lo, hi
	nrm := w.accessor(w.view(le(m.nrm), gltf.TargetArrayBuffer), gltf.ComponentFloat, gltf.AccessorVec3, nv, false)
	col := w.accessor(w.view(m.col, gltf.TargetArrayBuffer), gltf.ComponentUbyte, gltf.AccessorVec4, nv, true)
	fid := make([]float32, len(m.fid))
	for i, v := range m.fid {
		fid[i] = float32(v) // exact below 2^24
	}
	ids := w.accessor(w.view(le(fid), gltf.TargetArrayBuffer), gltf.ComponentFloat, gltf.AccessorScalar, nv, false)
	var idx int
	if nv <= math.MaxUint16 {
		small := make([]uint16, len(m.idx))
		for i, v := range m.idx {
			small[i] = uint16(v)
		}
		idx = w.accessor(w.view(le(small), gltf.TargetElementArrayBuffer), gltf.ComponentUshort, gltf.AccessorScalar, len(small), false)
	} else {
		idx = w.accessor(w.view(le(m.idx), gltf.TargetElementArrayBuffer), gltf.ComponentUint, gltf.AccessorScalar, len(m.idx), false)
	}

	props, table := w.metadata(fs)
	doc.Extensions = gltf.Extensions{"EXT_structural_metadata": map[string]any{
		"schema": map[string]any{
			"id": "kiruna_twin",
			"classes": map[string]any{ClassName: map[string]any{
				"name":        "Feature",
				"description": "A feature of the twin: its id, what and when it is (from and to in decimal years; to is 9999 when it has no dated end) and where it comes from.",
				"properties":  props,
			}},
		},
		"propertyTables": []any{table},
	}}
	zero, one := 0.0, 1.0
	doc.Materials = []*gltf.Material{{
		Name:                 "surface",
		PBRMetallicRoughness: &gltf.PBRMetallicRoughness{BaseColorFactor: &[4]float64{1, 1, 1, 1}, MetallicFactor: &zero, RoughnessFactor: &one},
	}}
	doc.Meshes = []*gltf.Mesh{{
		Name: "features",
		Primitives: []*gltf.Primitive{{
			Attributes: gltf.PrimitiveAttributes{"POSITION": pos, "NORMAL": nrm, "COLOR_0": col, "_FEATURE_ID_0": ids},
			Indices:    gltf.Index(idx),
			Material:   gltf.Index(0),
			Mode:       gltf.PrimitiveTriangles,
			Extensions: gltf.Extensions{"EXT_mesh_features": map[string]any{
				"featureIds": []any{map[string]any{"featureCount": len(fs), "attribute": 0, "propertyTable": 0}},
			}},
		}},
	}}
	doc.Nodes = []*gltf.Node{{Mesh: gltf.Index(0)}}
	doc.Scenes = []*gltf.Scene{{Nodes: []int{0}}}
	doc.Scene = gltf.Index(0)
	for w.buf.Len()%4 != 0 {
		w.buf.WriteByte(0)
	}
	doc.Buffers = []*gltf.Buffer{{ByteLength: w.buf.Len(), Data: w.buf.Bytes()}}
	var out bytes.Buffer
	if err := gltf.NewEncoder(&out).Encode(doc); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// metadata writes the property table's columns and returns the class's
// properties and the table.
func (w *glbWriter) metadata(fs []*twin.Feature) (map[string]any, map[string]any) {
	cols := columns()
	pos := make(map[string]int, len(cols))
	for i, c := range cols {
		pos[c.name] = i
	}
	// values[c][row]
	values := make([][]twin.Value, len(cols))
	for c := range values {
		values[c] = make([]twin.Value, len(fs))
	}
	for row, f := range fs {
		f.EachProperty(twin.DecimalYearTime, func(k string, v twin.Value) {
			if c, ok := pos[k]; ok {
				values[c][row] = v
			}
		})
		values[pos[PropLayer]][row] = twin.Value{Kind: twin.StringValue, Str: string(f.Layer)}
	}
	props := map[string]any{}
	tprops := map[string]any{}
	for c, col := range cols {
		switch col.typ {
		case twin.NumberField:
			p := map[string]any{"type": "SCALAR", "componentType": "FLOAT64", "required": col.required}
			if col.name == twin.PropTo {
				// 9999 is a value, not noData: a client that applies noData
				// (CesiumJS) would hand a style undefined, and
				// "from <= year < to" needs a number at every feature.
				p["description"] = "the first instant it no longer is, in decimal years; 9999 when it has no dated end"
			} else if col.name == twin.PropFrom {
				p["description"] = "when it begins, in decimal years"
			}
			data := make([]float64, len(fs))
			for row, v := range values[c] {
				switch {
				case v.Kind == twin.NumberValue:
					data[row] = v.Num
				case col.name == twin.PropTo:
					data[row] = NoEnd
				}
			}
			props[col.name] = p
			tprops[col.name] = map[string]any{"values": w.view(le(data), gltf.TargetNone)}
		case twin.BooleanField:
			bits := make([]byte, (len(fs)+7)/8)
			for row, v := range values[c] {
				if v.Kind == twin.BoolValue && v.Bool {
					bits[row/8] |= 1 << (row % 8)
				}
			}
			props[col.name] = map[string]any{"type": "BOOLEAN", "required": col.required}
			tprops[col.name] = map[string]any{"values": w.view(bits, gltf.TargetNone)}
		default:
			var str []byte
			offsets := make([]uint32, 0, len(fs)+1)
			for _, v := range values[c] {
				offsets = append(offsets, uint32(len(str)))
				if v.Kind == twin.StringValue {
					str = append(str, v.Str...)
				}
			}
			offsets = append(offsets, uint32(len(str)))
			if len(str) == 0 {
				str = []byte{0} // a buffer view holds at least a byte; the offsets say none is used
			}
			p := map[string]any{"type": "STRING", "required": col.required}
			if !col.required {
				p["noData"] = ""
			}
			props[col.name] = p
			tprops[col.name] = map[string]any{
				"values":           w.view(slices.Clip(str), gltf.TargetNone),
				"stringOffsets":    w.view(le(offsets), gltf.TargetNone),
				"stringOffsetType": "UINT32",
			}
		}
	}
	return props, map[string]any{"class": ClassName, "count": len(fs), "properties": tprops}
}
