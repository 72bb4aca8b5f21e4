// Inspect: the story of a building (or any feature) — built, moved here,
// moved away, demolished, planned — with source and confidence, and for a
// moved building a link to its other site. The story comes from
// GET /collections/{layer}/items/{id}, which carries the feature's full
// history; until it answers (or if it cannot), the tile's properties tell
// what they can.

import { t, has, date, number } from './i18n.js';
import { fetchJSON } from './net.js';

// toYear reads a decimal year from a number, a numeric string or a date.
export function toYear(v) {
  if (v == null || v === '') return undefined;
  if (typeof v === 'number') return v;
  if (/^-?\d+(\.\d+)?$/.test(String(v))) return Number(v);
  const m = /^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?/.exec(String(v));
  if (!m) return undefined;
  const d = new Date(String(v).length > 10 ? v : Date.UTC(+m[1], (+m[2] || 1) - 1, +m[3] || 1));
  if (isNaN(d)) return undefined;
  const y = d.getUTCFullYear();
  const start = Date.UTC(y, 0, 1);
  return y + (d.getTime() - start) / (Date.UTC(y + 1, 0, 1) - start);
}

// site is one place in a building's life, normalised from a GeoJSON feature
// of the collections API or from a tile feature.
function site(f) {
  const p = f.properties || {};
  const id = String(f.id ?? p.id ?? '');
  return {
    id,
    name: p.name || '',
    kind: p.kind || '',
    status: p.status || '',
    from: toYear(p.from),
    to: toYear(p.to),
    fromText: p.from,
    toText: p.to,
    lineage: p.lineage || '',
    source: p.source || '',
    confidence: p.confidence || '',
    height: p.height,
    geometry: f.geometry,
    center: Array.isArray(p.center) ? p.center : (Array.isArray(f.center) ? f.center : null),
  };
}

// sitesOf reads every site a collections answer tells of: the feature
// itself plus the other sites of its lineage, under whichever member the
// server names them (lineage as an array of features, sites, history).
export function sitesOf(item) {
  const out = [site(item)];
  const p = item.properties || {};
  const lists = [item.sites, item.history, item.lineage, p.sites, p.history, p.lineage_sites, p.lineage];
  for (const l of lists) {
    const arr = Array.isArray(l) ? l : (l && Array.isArray(l.features) ? l.features : null);
    if (!arr) continue;
    for (const f of arr) {
      if (!f || typeof f !== 'object') continue;
      const s = site(f.type === 'Feature' || f.properties ? f : { properties: f, id: f.id, geometry: f.geometry });
      if (s.id && !out.some((o) => o.id === s.id)) out.push(s);
    }
  }
  out.sort((a, b) => (a.from ?? 0) - (b.from ?? 0));
  return out;
}

// centreOf returns a rough [lon, lat] centre of a GeoJSON geometry.
export function centreOf(g) {
  if (!g) return null;
  let sx = 0, sy = 0, n = 0;
  const walk = (c) => {
    if (typeof c[0] === 'number') {
      sx += c[0]; sy += c[1]; n++;
    } else for (const x of c) walk(x);
  };
  if (g.type === 'GeometryCollection') g.geometries.forEach((x) => x.coordinates && walk(x.coordinates));
  else if (g.coordinates) walk(g.coordinates);
  return n ? [sx / n, sy / n] : null;
}

export class Story {
  // opts: {map, layerIds, getYear, setYear, kiosk}
  constructor(opts) {
    this.o = opts;
    this.panel = document.getElementById('story');
    this.title = document.getElementById('story-title');
    this.body = document.getElementById('story-body');
    this.current = null; // {layer, id, sites, fromMap}
    this.req = 0;
    document.getElementById('story-close').addEventListener('click', () => this.close(true));
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && !this.panel.hidden) this.close(true);
    });
  }

  isOpen() {
    return !this.panel.hidden;
  }

  close(refocus) {
    if (this.panel.hidden) return;
    this.panel.hidden = true;
    this.current = null;
    this.o.map.setFeatureState && this.highlight(null);
    if (refocus) document.getElementById('map').querySelector('canvas')?.focus();
  }

  highlight(id) {
    const m = this.o.map;
    if (this.hl) {
      try { m.removeFeatureState({ source: 'twin', sourceLayer: this.hl.layer, id: this.hl.id }, 'selected'); } catch { /* source gone */ }
    }
    this.hl = id ? { layer: this.current?.layer || 'buildings', id } : null;
    if (this.hl) {
      try { m.setFeatureState({ source: 'twin', sourceLayer: this.hl.layer, id }, { selected: true }); } catch { /* not loaded */ }
    }
  }

  // open shows the story of the feature `id` in `layer`, starting from what
  // the tile says (tileFeature, may be null) and filling in the history.
  async open(layer, id, tileFeature) {
    const req = ++this.req;
    const fromMap = tileFeature ? [site({ id, properties: tileFeature.properties, geometry: tileFeature.geometry })] : null;
    this.current = { layer, id, sites: fromMap || [], loading: true, failed: false };
    this.render();
    this.panel.hidden = false;
    this.highlight(id);
    try {
      const item = await fetchJSON(`/collections/${encodeURIComponent(layer)}/items/${encodeURIComponent(id)}`);
      if (req !== this.req) return;
      this.current = { layer, id, sites: sitesOf(item), loading: false, failed: false };
    } catch (err) {
      if (req !== this.req) return;
      this.current = { layer, id, sites: fromMap || [], loading: false, failed: true };
    }
    this.render();
  }

  relabel() {
    if (this.current) this.render();
  }

  render() {
    const c = this.current;
    if (!c) return;
    const here = c.sites.find((s) => s.id === c.id) || c.sites[0];
    this.title.textContent = here ? (here.name || kindLabel(here.kind)) : t('layer.unnamed');
    const frag = document.createDocumentFragment();
    if (c.loading && !c.sites.length) frag.append(para(t('story.loading'), 'muted'));
    if (c.failed) frag.append(para(t('story.unavailable'), 'muted'));
    if (here) {
      const y = this.o.getYear();
      const chip = document.createElement('p');
      chip.className = 'story-now';
      const alive = (here.from ?? -Infinity) <= y && (here.to === undefined || here.to > y);
      chip.textContent = alive ? t('story.standsIn', { year: Math.floor(y) })
        : (here.from !== undefined && here.from > y ? t('story.notYet', { year: Math.floor(y) }) : t('story.gone', { year: Math.floor(y) }));
      frag.append(chip);
    }
    const list = document.createElement('ol');
    list.className = 'story-steps';
    c.sites.forEach((s, i) => {
      const isHere = s.id === c.id;
      const add = (key, when, cls) => {
        const li = document.createElement('li');
        li.className = cls + (isHere ? ' here' : ' other');
        const k = document.createElement('span');
        k.className = 'step-what';
        k.textContent = t(key);
        const d = document.createElement('span');
        d.className = 'step-when';
        d.textContent = when;
        li.append(k, ' ', d);
        if (c.sites.length > 1) {
          const where = document.createElement('span');
          where.className = 'step-where';
          where.textContent = t(isHere ? 'story.thisSite' : 'story.otherPlace');
          li.append(' ', where);
        }
        list.append(li);
      };
      const when = (text, y) => date(typeof text === 'string' && /^\d{4}-\d{2}/.test(text) ? text : y);
      if (s.status === 'planned') add('story.planned', when(s.fromText, s.from), 'step-planned');
      else if (i > 0) add('story.movedHere', when(s.fromText, s.from), 'step-moved');
      else if (s.from !== undefined) add('story.built', when(s.fromText, s.from), 'step-built');
      if (s.to !== undefined) {
        if (i < c.sites.length - 1) add('story.movedAway', when(s.toText, s.to), 'step-moved');
        else add('story.demolished', when(s.toText, s.to), 'step-demolished');
      }
    });
    frag.append(list);
    if (here) {
      const dl = document.createElement('dl');
      dl.className = 'facts';
      const row = (k, v) => {
        if (v === '' || v == null) return;
        const dt = document.createElement('dt');
        dt.textContent = t(k);
        const dd = document.createElement('dd');
        dd.textContent = v;
        dl.append(dt, dd);
      };
      if (here.kind) row('story.kind', kindLabel(here.kind));
      if (typeof here.height === 'number') row('story.height', `${number(here.height)} m`);
      row('story.source', here.source);
      row('story.confidence', confidenceLabel(here.confidence));
      frag.append(dl);
    }
    for (const s of c.sites) {
      if (s.id === c.id) continue;
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'btn other-site';
      b.dataset.site = s.id;
      b.textContent = `${t('story.otherSite')}${s.from !== undefined ? ` (${date(s.fromText && /^\d{4}-\d{2}/.test(s.fromText) ? s.fromText : s.from)})` : ''}`;
      b.addEventListener('click', () => this.goTo(s));
      frag.append(b);
    }
    this.body.replaceChildren(frag);
  }

  // goTo flies to another site, at a year when it stands, and opens it.
  goTo(s) {
    const y = this.o.getYear();
    const alive = (s.from ?? -Infinity) <= y && (s.to === undefined || s.to > y);
    if (!alive && s.from !== undefined) {
      this.o.setYear(s.to !== undefined ? (s.from + s.to) / 2 : Math.max(s.from, Math.min(s.from + 1, this.o.end)));
    }
    const c = s.center || centreOf(s.geometry);
    if (c) this.o.map.flyTo({ center: c, zoom: Math.max(this.o.map.getZoom(), 16), essential: true });
    const layer = this.current?.layer || 'buildings';
    this.open(layer, s.id, null);
  }
}

function para(text, cls) {
  const p = document.createElement('p');
  p.className = cls;
  p.textContent = text;
  return p;
}

// kindLabel names a feature's kind in the language; a kind the dictionary
// does not know is shown as the data has it.
function kindLabel(kind) {
  if (!kind) return t('kind.unknown');
  return has(`kind.${kind}`) ? t(`kind.${kind}`) : kind.replace(/[_-]/g, ' ');
}

function confidenceLabel(c) {
  return t(['sourced', 'approx', 'guess', 'generated'].includes(c) ? `confidence.${c}` : 'confidence.unknown');
}
