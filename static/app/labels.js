// Labels: one name per area, and labels large enough for a kiosk.
//
// The style labels an area from its polygon, and MapLibre places such a
// label once in every tile the polygon touches: a planning area read
// "Nytt centrum mot Luossavaara" eight times. AreaLabels fetches the named
// areas once (a handful of features), puts one point per area where the
// label reads best (the point inside farthest from the edges) and draws
// the names from those, year by year like every other layer.

import { fetchJSON } from './net.js';
import { toYear } from './story.js';

const SOURCE = 'area-labels';
const LAYER = 'area-labels';
// The style's own, per-tile label of the same areas.
const STYLE_LAYER = 'zones-label';
// The kinds of area that carry a name on the map.
const KINDS = ['mine', 'mine_park', 'planning_area', 'impact_boundary'];

export class AreaLabels {
  constructor({ kiosk }) {
    this.kiosk = kiosk;
    this.data = null;
  }

  // load fetches the named areas and places their labels.
  async load() {
    const parts = await Promise.all(KINDS.map((k) => fetchJSON(`/collections/zones/items?kind=${k}&limit=200`)));
    const features = [];
    for (const fc of parts) {
      for (const f of fc.features || []) {
        const p = f.properties || {};
        const at = labelPoint(f.geometry);
        if (!p.name || !at) continue;
        const props = { id: String(f.id ?? p.id), name: p.name, kind: p.kind || '', from: toYear(p.from) ?? 0 };
        const to = toYear(p.to);
        if (to !== undefined) props.to = to;
        for (const [k, v] of Object.entries(p)) if (k.startsWith('name_')) props[k] = v;
        features.push({ type: 'Feature', geometry: { type: 'Point', coordinates: at }, properties: props });
      }
    }
    this.data = { type: 'FeatureCollection', features };
    return this.data;
  }

  // install adds the labels to map m in place of the style's, once loaded.
  install(m) {
    if (!this.data || m.getSource(SOURCE)) return;
    const style = m.getLayer(STYLE_LAYER);
    m.addSource(SOURCE, { type: 'geojson', data: this.data });
    const size = style ? m.getLayoutProperty(STYLE_LAYER, 'text-size') : 12;
    const paint = (k, d) => (style ? m.getPaintProperty(STYLE_LAYER, k) ?? d : d);
    m.addLayer({
      id: LAYER, type: 'symbol', source: SOURCE, minzoom: 11.5,
      filter: ['all', ['<=', ['get', 'from'], ['global-state', 'year']], ['>', ['coalesce', ['get', 'to'], 100000], ['global-state', 'year']]],
      layout: {
        'text-field': ['coalesce', ['get', ['concat', 'name_', ['global-state', 'lang']]], ['get', 'name']],
        'text-font': ['Noto Sans Regular'],
        'text-size': size ?? (this.kiosk ? 18 : 12),
        'text-max-width': 10,
        'text-padding': 6,
      },
      paint: {
        'text-color': paint('text-color', '#3c4650'),
        'text-halo-color': paint('text-halo-color', 'rgba(248,250,252,0.85)'),
        'text-halo-width': paint('text-halo-width', 1.2),
      },
    }, style ? STYLE_LAYER : undefined);
    if (style) m.setLayoutProperty(STYLE_LAYER, 'visibility', 'none');
  }

  // apply shows or hides the labels with the zones layer they name.
  apply(m, on) {
    if (m.getLayer(LAYER)) {
      m.setLayoutProperty(LAYER, 'visibility', on ? 'visible' : 'none');
      if (m.getLayer(STYLE_LAYER)) m.setLayoutProperty(STYLE_LAYER, 'visibility', 'none');
    }
  }
}

// labelPoint returns the point of a polygon (the largest part of a
// multipolygon) that lies farthest inside it, found on a grid: good enough
// for the few areas of a scene.
export function labelPoint(g) {
  if (!g) return null;
  let rings;
  if (g.type === 'Polygon') rings = g.coordinates;
  else if (g.type === 'MultiPolygon') {
    rings = g.coordinates.reduce((best, p) => (Math.abs(area(p[0])) > Math.abs(area(best[0])) ? p : best), g.coordinates[0]);
  } else if (g.type === 'Point') return g.coordinates;
  else return null;
  if (!rings || !rings.length || rings[0].length < 4) return null;
  const outer = rings[0];
  let w = Infinity, s = Infinity, e = -Infinity, n = -Infinity;
  for (const [x, y] of outer) {
    w = Math.min(w, x); e = Math.max(e, x); s = Math.min(s, y); n = Math.max(n, y);
  }
  const cos = Math.cos((((s + n) / 2) * Math.PI) / 180);
  let best = null, bestD = -1;
  const N = 24;
  for (let i = 0; i <= N; i++) {
    for (let j = 0; j <= N; j++) {
      const p = [w + ((e - w) * i) / N, s + ((n - s) * j) / N];
      if (!rings.every((r, k) => (k === 0) === inRing(p, r))) continue;
      let d = Infinity;
      for (const r of rings) d = Math.min(d, distToRing(p, r, cos));
      if (d > bestD) {
        bestD = d;
        best = p;
      }
    }
  }
  return best || [(w + e) / 2, (s + n) / 2];
}

function area(ring) {
  let a = 0;
  for (let i = 1; i < ring.length; i++) a += ring[i - 1][0] * ring[i][1] - ring[i][0] * ring[i - 1][1];
  return a / 2;
}

function inRing([x, y], ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i], [xj, yj] = ring[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function distToRing([x, y], ring, cos) {
  let d = Infinity;
  for (let i = 1; i < ring.length; i++) {
    const ax = ring[i - 1][0] * cos, ay = ring[i - 1][1], bx = ring[i][0] * cos, by = ring[i][1];
    const px = x * cos, py = y;
    const dx = bx - ax, dy = by - ay;
    const l2 = dx * dx + dy * dy;
    const k = l2 ? Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / l2)) : 0;
    d = Math.min(d, Math.hypot(px - (ax + k * dx), py - (ay + k * dy)));
  }
  return d;
}

// scaleTextSize makes every label of map m k times larger: a number, or the
// outputs of an interpolation over the zoom.
export function scaleTextSize(m, k) {
  for (const l of m.getStyle().layers) {
    if (l.type !== 'symbol') continue;
    const v = m.getLayoutProperty(l.id, 'text-size');
    const scaled = scaleValue(v ?? 16, k);
    if (scaled !== undefined) m.setLayoutProperty(l.id, 'text-size', scaled);
  }
}

function scaleValue(v, k) {
  if (typeof v === 'number') return Math.round(v * k * 10) / 10;
  if (Array.isArray(v) && v[0] === 'interpolate' && Array.isArray(v[2]) && v[2][0] === 'zoom') {
    const out = v.slice(0, 3);
    for (let i = 3; i + 1 < v.length; i += 2) {
      if (typeof v[i + 1] !== 'number') return undefined;
      out.push(v[i], Math.round(v[i + 1] * k * 10) / 10);
    }
    return out;
  }
  return undefined;
}
