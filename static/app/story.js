// Inspect: the story of a building (or any feature) — built, moved here,
// moved away, demolished, planned — with source and confidence, and for a
// moved building a link to its other site. The story comes from
// GET /collections/{layer}/items/{id}, which carries the feature's full
// history; until it answers (or if it cannot), the tile's properties tell
// what they can.
//
// The words depend on what the feature is: a building is built and
// demolished, a road opened and closed, a deformation zone appears and
// grows, a plan is in force, a mountain simply is.

import { t, has, date, datePrecision, number, getLang } from './i18n.js';
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
    sourceEn: p.source_en || '',
    nameEn: p.name_en || '',
    district: p.district || '',
    districtEn: p.district_en || '',
    zoneYear: typeof p.year === 'number' ? p.year : undefined,
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
  // extra.event is the timeline's event that led here, told at the top.
  async open(layer, id, tileFeature, extra = {}) {
    const req = ++this.req;
    const fromMap = tileFeature ? [site({ id, properties: tileFeature.properties, geometry: tileFeature.geometry })] : null;
    const event = extra.event || null;
    this.current = { layer, id, sites: fromMap || [], loading: true, failed: false, event };
    this.render();
    this.panel.hidden = false;
    this.highlight(id);
    try {
      const item = await fetchJSON(`/collections/${encodeURIComponent(layer)}/items/${encodeURIComponent(id)}`);
      if (req !== this.req) return;
      this.current = { layer, id, sites: sitesOf(item), loading: false, failed: false, event };
    } catch (err) {
      if (req !== this.req) return;
      this.current = { layer, id, sites: fromMap || [], loading: false, failed: true, event };
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
    const words = vocabulary(c.layer, here);
    this.title.textContent = here ? (localName(here) || kindLabel(here.kind)) : t('layer.unnamed');
    const frag = document.createDocumentFragment();
    if (c.event) {
      const ev = document.createElement('p');
      ev.className = 'story-event';
      ev.textContent = t('timeline.event', { date: date(c.event.date || c.event.year), title: pickTitle(c.event.title) });
      frag.append(ev);
    }
    if (c.loading && !c.sites.length) frag.append(para(t('story.loading'), 'muted'));
    if (c.failed) frag.append(para(t('story.unavailable'), 'muted'));
    if (here && words.chip) {
      const y = this.o.getYear();
      const chip = document.createElement('p');
      chip.className = 'story-now';
      const alive = (here.from ?? -Infinity) <= y && (here.to === undefined || here.to > y);
      const key = alive ? words.chip.now : (here.from !== undefined && here.from > y ? words.chip.notYet : words.chip.gone);
      chip.textContent = t(key, { year: Math.floor(y), zoneYear: here.zoneYear ?? Math.floor(y) });
      frag.append(chip);
    }
    const list = document.createElement('ol');
    list.className = 'story-steps';
    c.sites.forEach((s, i) => {
      const isHere = s.id === c.id;
      const add = (key, whenText, cls) => {
        const li = document.createElement('li');
        li.className = cls + (isHere ? ' here' : ' other');
        const k = document.createElement('span');
        k.className = 'step-what';
        k.textContent = t(key);
        li.append(k);
        if (whenText) {
          const d = document.createElement('span');
          d.className = 'step-when';
          d.textContent = whenText;
          li.append(' ', d);
        }
        if (c.sites.length > 1) {
          const where = document.createElement('span');
          where.className = 'step-where';
          where.textContent = t(isHere ? 'story.thisSite' : 'story.otherPlace');
          li.append(' ', where);
        }
        list.append(li);
      };
      const w = vocabulary(c.layer, s);
      const moved = c.sites.length > 1;
      if (s.status === 'planned' && w.planned) add(w.planned, when(w.planned, s.fromText, s.from), 'step-planned');
      else if (moved && i > 0) add('story.movedHere', when('story.movedHere', s.fromText, s.from), 'step-moved');
      else if (w.start && s.from !== undefined) add(w.start, when(w.start, s.fromText, s.from), 'step-built');
      if (w.grows) add(w.grows, '', 'step-grows');
      else if (s.to !== undefined && w.end) {
        if (moved && i < c.sites.length - 1) add('story.movedAway', when('story.movedAway', s.toText, s.to), 'step-moved');
        else add(w.end, when(w.end, s.toText, s.to), 'step-demolished');
      }
    });
    if (list.children.length) frag.append(list);
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
      if (typeof here.height === 'number' && c.layer === 'buildings') row('story.height', `${number(here.height)} m`);
      row('story.source', sourceText(here));
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

// Steps whose word takes the date as it is ("Sedan 1912", "Planerad till
// 2029"); the others take it with a preposition that fits its precision.
const PLAIN_DATE = new Set(['story.since', 'story.until', 'story.planned', 'story.plannedFrom', 'story.inForce', 'story.inForceUntil', 'story.inService']);

// when writes a step's date as its word reads it: "Byggd år 1912", "Riven i
// juli 2019", "Riven 22 juli 2017" (en: "Built in 1912", "Demolished in July
// 2019", "Demolished on 22 July 2017").
function when(key, text, y) {
  const v = typeof text === 'string' && /^\d{4}/.test(text) ? text : y;
  const d = date(v);
  if (!d || PLAIN_DATE.has(key)) return d;
  return t(`when.${datePrecision(v)}`, { date: d });
}

// The words of a feature's story, by its layer and kind: the keys of its
// first and last steps, of the year chip, and what a planned one is.
const BUILDING = {
  start: 'story.built', end: 'story.demolished', planned: 'story.planned',
  chip: { now: 'story.standsIn', notYet: 'story.notYet', gone: 'story.gone' },
};
const THING = {
  start: 'story.since', end: 'story.until', planned: 'story.plannedFrom',
  chip: { now: 'story.existsIn', notYet: 'story.notYetThere', gone: 'story.gone' },
};
const ZONE_KINDS = ['caved', 'fracture', 'deformation'];
const NATURAL = ['summit', 'mountain', 'lake', 'river', 'forest', 'mire', 'water'];
const UTILITIES = ['pipe', 'pipeline', 'power', 'powerline', 'district_heating', 'water_main', 'sewer', 'cable'];

export function vocabulary(layer, s) {
  const kind = s?.kind || '';
  if (NATURAL.includes(kind)) return { chip: null };
  switch (layer) {
    case 'buildings':
      return BUILDING;
    case 'zones':
      if (ZONE_KINDS.includes(kind)) {
        // One polygon per year: the zone as it reached that year, which
        // the next year's outgrows.
        return { start: 'story.zoneAppears', grows: 'story.zoneGrows', chip: { now: 'story.zoneOfYear', notYet: 'story.zoneNotYet', gone: 'story.zoneOfYear' } };
      }
      if (kind === 'mine') return { ...THING, end: null };
      return { ...THING, start: 'story.inForce', end: 'story.inForceUntil' };
    case 'infrastructure':
      if (kind === 'road_construction') return { ...THING, start: 'story.worksBegin', end: 'story.worksEnd' };
      if (UTILITIES.includes(kind)) return { ...THING, start: 'story.inService', end: 'story.outOfService' };
      return { ...THING, start: 'story.opened', end: 'story.closed' };
    default:
      return THING;
  }
}

function localName(s) {
  return (getLang() === 'en' && s.nameEn) || s.name;
}

function pickTitle(m) {
  if (!m || typeof m === 'string') return m || '';
  return m[getLang()] ?? m.sv ?? Object.values(m)[0] ?? '';
}

// sourceText is the source in the language: a generated building's is told
// in words; a source with an English version (source_en) uses it in English.
function sourceText(s) {
  if (s.confidence === 'generated') {
    const district = getLang() === 'en' ? (s.districtEn || s.district) : s.district;
    return district ? t('story.generatedIn', { district }) : t('story.generated');
  }
  return (getLang() === 'en' && s.sourceEn) || s.source;
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
