// Live sensors: a WebSocket to /ws subscribed to the visible area
// (resubscribed when the camera moves), a GeoJSON source that holds the
// sensors' latest state, and a panel with a sensor's latest value and a
// chart of its last day. Updates change only the sensors that changed
// (GeoJSONSource.updateData); the connection comes back by itself with
// backoff, and the last state stays on screen meanwhile.

import { t, has, number, dateTime, dayTime } from './i18n.js';
import { backoff, setStatus, clearStatus, fetchJSON } from './net.js';

export const SOURCE = 'live';
export const LAYERS = ['live-sensors', 'live-sensors-mark', 'live-sensors-value'];

const STATUSES = ['ok', 'stale', 'alarm'];

// wsURL is the WebSocket endpoint on the page's own origin.
function wsURL() {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`;
}

// tileIDs lists the tiles of zoom z that cover bbox [w,s,e,n].
export function tileIDs(bbox, z) {
  const n = 2 ** z;
  const x = (lon) => Math.max(0, Math.min(n - 1, Math.floor(((lon + 180) / 360) * n)));
  const y = (lat) => {
    const r = (Math.max(-85.0511, Math.min(85.0511, lat)) * Math.PI) / 180;
    return Math.max(0, Math.min(n - 1, Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n)));
  };
  const out = [];
  const [x0, x1, y0, y1] = [x(bbox[0]), x(bbox[2]), y(bbox[3]), y(bbox[1])];
  if ((x1 - x0 + 1) * (y1 - y0 + 1) > 4096) return null; // too many: refresh all
  for (let i = x0; i <= x1; i++) for (let j = y0; j <= y1; j++) out.push({ x: i, y: j, z });
  return out;
}

export class Live {
  // opts: {maps: () => [map, …], kiosk, onSelect(sensor), onInvalidate(bbox)}
  constructor(map, opts) {
    this.map = map;
    this.o = opts;
    this.sensors = new Map(); // id → sensor as the server sent it
    this.ranges = new Map(); // type → {min, max}
    this.pending = new Map();
    this.flushTimer = 0;
    this.ws = null;
    this.attempt = 0;
    this.lost = false;
    this.bbox = null;
    this.subscribed = '';
    this.updates = 0;
    this.stopped = false;
  }

  // install adds the source and layers to a map (the main map and the
  // comparison map both show sensors).
  install(map) {
    if (map.getSource(SOURCE)) return;
    map.addSource(SOURCE, { type: 'geojson', data: this.collection(), promoteId: 'id' });
    // Under the map's labels: a place's name stays readable over the
    // markers (an alarm beside "Gamla Kiruna centrum" does not hide it).
    const before = map.getStyle().layers.find((l) => l.type === 'symbol')?.id;
    const r = this.o.kiosk ? 1.4 : 1;
    // Live values belong to the present: the markers show while the
    // timeline is within a year of today.
    const present = ['<=', ['abs', ['-', ['global-state', 'year'], ['global-state', 'now']]], 1];
    map.addLayer({
      id: 'live-sensors', type: 'circle', source: SOURCE, filter: present,
      paint: {
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 11, 4 * r, 13, 6 * r, 15, 9 * r],
        'circle-color': ['match', ['get', 'status'],
          'alarm', '#e39b22',
          'stale', '#9aa3ab',
          ['interpolate', ['linear'], ['get', 'level'], 0, '#8fd6c9', 0.5, '#2aa594', 1, '#0c5f56']],
        'circle-stroke-color': ['match', ['get', 'status'], 'alarm', '#5c3a00', '#ffffff'],
        'circle-stroke-width': ['match', ['get', 'status'], 'alarm', 3, 2],
        'circle-pitch-alignment': 'viewport',
      },
    }, before);
    map.addLayer({
      id: 'live-sensors-mark', type: 'symbol', source: SOURCE,
      filter: ['all', present, ['!=', ['get', 'status'], 'ok']],
      layout: {
        'text-field': ['match', ['get', 'status'], 'alarm', '!', 'stale', '…', ''],
        'text-font': ['Noto Sans SemiBold'], 'text-size': ['interpolate', ['linear'], ['zoom'], 11, 8 * r, 13, 10 * r, 15, 14 * r],
        'text-allow-overlap': true, 'text-ignore-placement': true,
      },
      paint: { 'text-color': ['match', ['get', 'status'], 'alarm', '#2b1a00', '#ffffff'] },
    }, before);
    map.addLayer({
      id: 'live-sensors-value', type: 'symbol', source: SOURCE, minzoom: 13.5, filter: present,
      layout: {
        'text-field': ['get', 'label'], 'text-font': ['Noto Sans SemiBold'],
        'text-size': this.o.kiosk ? 19 : 12, 'text-anchor': 'top', 'text-offset': [0, 1.1],
        'text-optional': true,
      },
      paint: { 'text-color': '#0f3d38', 'text-halo-color': 'rgba(248,250,252,0.95)', 'text-halo-width': 1.6 },
    });
  }

  feature(s) {
    const range = this.ranges.get(s.type);
    let level = 0.5;
    if (range && range.max > range.min && typeof s.value === 'number') level = (s.value - range.min) / (range.max - range.min);
    const status = STATUSES.includes(s.status) ? s.status : 'ok';
    return {
      type: 'Feature',
      id: s.id,
      geometry: { type: 'Point', coordinates: [s.lon, s.lat] },
      properties: {
        id: s.id, type: s.type || '', unit: s.unit || '', name: s.name || '',
        value: typeof s.value === 'number' ? s.value : null, time: s.time || '', status,
        level: Math.max(0, Math.min(1, level)), label: this.label(s),
      },
    };
  }

  label(s) {
    if (typeof s.value !== 'number') return '';
    return `${number(s.value)}${s.unit ? ` ${s.unit}` : ''}`;
  }

  collection() {
    return { type: 'FeatureCollection', features: [...this.sensors.values()].map((s) => this.feature(s)) };
  }

  // widen grows the value range of a type; true when it changed.
  widen(s) {
    if (typeof s.value !== 'number') return false;
    const r = this.ranges.get(s.type);
    if (!r) {
      this.ranges.set(s.type, { min: s.value, max: s.value });
      return true;
    }
    let changed = false;
    if (s.value < r.min) { r.min = s.value; changed = true; }
    if (s.value > r.max) { r.max = s.value; changed = true; }
    return changed;
  }

  eachMap(fn) {
    for (const m of this.o.maps()) {
      const src = m.getSource(SOURCE);
      if (src) fn(m, src);
    }
  }

  // setAll replaces every sensor (a snapshot, or a new language).
  setAll() {
    const fc = this.collection();
    this.eachMap((m, src) => src.setData(fc));
  }

  start() {
    this.connect();
    const resub = () => {
      clearTimeout(this.moveTimer);
      this.moveTimer = setTimeout(() => this.subscribe(), 200);
    };
    this.map.on('moveend', resub);
    window.addEventListener('online', () => this.reconnectNow());
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.reconnectNow();
    });
  }

  reconnectNow() {
    if (this.ws && this.ws.readyState <= 1) return;
    clearTimeout(this.retryTimer);
    this.connect();
  }

  connect() {
    if (this.stopped) return;
    let ws;
    try {
      ws = new WebSocket(wsURL());
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.subscribed = '';
    ws.addEventListener('open', () => {
      this.attempt = 0;
      if (this.lost) {
        this.lost = false;
        clearStatus('ws', 'net.back');
      }
      this.subscribe();
    });
    ws.addEventListener('message', (e) => this.onMessage(e.data));
    ws.addEventListener('close', () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (!this.lost) {
        this.lost = true;
        setStatus('ws', 'net.lost');
      }
      this.scheduleReconnect();
    });
  }

  scheduleReconnect() {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), backoff(this.attempt++, 10000));
  }

  // subscribe sends the visible area (a little wider, so that small pans
  // need no new snapshot); it is sent again only when it changed.
  subscribe() {
    if (!this.ws || this.ws.readyState !== 1) return;
    const b = this.map.getBounds();
    const w = b.getWest(), s = b.getSouth(), e = b.getEast(), n = b.getNorth();
    const dx = (e - w) * 0.2, dy = (n - s) * 0.2;
    const r = (v) => Math.round(v * 1e5) / 1e5;
    const bbox = [r(Math.max(-180, w - dx)), r(Math.max(-85, s - dy)), r(Math.min(180, e + dx)), r(Math.min(85, n + dy))];
    const key = bbox.join(',');
    if (key === this.subscribed) return;
    this.subscribed = key;
    this.bbox = bbox;
    this.ws.send(JSON.stringify({ type: 'subscribe', bbox }));
  }

  onMessage(data) {
    let m;
    try {
      m = JSON.parse(data);
    } catch {
      return;
    }
    switch (m.type) {
      case 'snapshot':
        this.sensors.clear();
        for (const s of m.sensors || []) {
          this.widen(s);
          this.sensors.set(s.id, s);
        }
        clearTimeout(this.flushTimer);
        this.flushTimer = 0;
        this.pending.clear();
        this.setAll();
        this.o.onSensors?.();
        break;
      case 'update':
        for (const s of m.sensors || []) {
          const old = this.sensors.get(s.id);
          const merged = { ...old, ...s };
          this.sensors.set(s.id, merged);
          this.pending.set(s.id, { merged, added: !old, widened: this.widen(merged) });
        }
        this.updates++;
        if (!this.flushTimer) this.flushTimer = setTimeout(() => this.flush(), 50);
        break;
      case 'invalidate':
        if (Array.isArray(m.bbox)) this.o.onInvalidate?.(m.bbox);
        break;
      case 'error':
        console.warn('live: the server refused a message:', m.message);
        break;
      default:
    }
  }

  // flush hands the changed sensors to the maps: only those, unless a value
  // range widened (then every marker's shade changes).
  flush() {
    this.flushTimer = 0;
    const changes = [...this.pending.values()];
    this.pending.clear();
    if (!changes.length) return;
    if (changes.some((c) => c.widened)) {
      this.setAll();
    } else {
      const add = [];
      const update = [];
      for (const c of changes) {
        const f = this.feature(c.merged);
        if (c.added) add.push(f);
        else {
          update.push({
            id: f.id,
            newGeometry: f.geometry,
            addOrUpdateProperties: Object.entries(f.properties).map(([key, value]) => ({ key, value })),
          });
        }
      }
      this.eachMap((m, src) => src.updateData({ add, update }));
    }
    this.o.onSensors?.(changes.map((c) => c.merged.id));
  }

  relabel() {
    this.setAll();
  }
}

// SensorPanel fills the side panel with a sensor's latest value and a
// chart of its last day.
export class SensorPanel {
  constructor(live) {
    this.live = live;
    this.panel = document.getElementById('story');
    this.title = document.getElementById('story-title');
    this.body = document.getElementById('story-body');
    this.id = '';
    this.history = null;
    this.info = null; // the sensor as /api/sensors/{id} tells it: its name
    this.req = 0;
  }

  isOpenFor(id) {
    return !this.panel.hidden && this.id === id;
  }

  async open(id) {
    this.id = id;
    this.history = null;
    this.info = null;
    this.panel.hidden = false;
    this.panel.dataset.kind = 'sensor';
    this.render();
    const req = ++this.req;
    const from = new Date(Date.now() - 24 * 3600 * 1000).toISOString();
    // The live stream carries values, not names: the sensor itself is asked
    // for beside its day of readings.
    const [info, h] = await Promise.allSettled([
      fetchJSON(`/api/sensors/${encodeURIComponent(id)}`),
      fetchJSON(`/api/sensors/${encodeURIComponent(id)}/readings?from=${encodeURIComponent(from)}`),
    ]);
    if (req !== this.req) return;
    this.info = info.status === 'fulfilled' ? info.value : null;
    this.history = h.status === 'fulfilled' ? readingsOf(h.value) : [];
    this.render();
  }

  // update is called when sensors change; the open one is redrawn and its
  // new reading joins the chart.
  update(ids) {
    if (this.panel.hidden || this.panel.dataset.kind !== 'sensor') return;
    if (ids && !ids.includes(this.id)) return;
    const s = this.live.sensors.get(this.id);
    if (s && this.history && typeof s.value === 'number' && s.time) {
      const last = this.history[this.history.length - 1];
      if (!last || last.time !== s.time) this.history.push({ time: s.time, value: s.value });
    }
    this.render();
  }

  close() {
    this.id = '';
    delete this.panel.dataset.kind;
  }

  render() {
    const s = { ...(this.info || {}), ...(this.live.sensors.get(this.id) || { id: this.id }) };
    if (!s.name && this.info?.name) s.name = this.info.name;
    this.title.textContent = s.name || t('sensor.unnamed', { type: typeLabel(s.type) });
    const frag = document.createDocumentFragment();
    const latest = document.createElement('div');
    latest.className = 'sensor-latest';
    const cap = document.createElement('span');
    cap.className = 'caption';
    cap.textContent = t('sensor.latest');
    const val = document.createElement('span');
    val.className = 'sensor-value';
    val.textContent = typeof s.value === 'number' ? `${number(s.value, 2)}${s.unit ? ` ${s.unit}` : ''}` : '–';
    latest.append(cap, val);
    frag.append(latest);
    const dl = document.createElement('dl');
    dl.className = 'facts';
    const row = (k, v) => {
      if (!v) return;
      const dt = document.createElement('dt');
      dt.textContent = t(k);
      const dd = document.createElement('dd');
      dd.textContent = v;
      dl.append(dt, dd);
    };
    const status = STATUSES.includes(s.status) ? s.status : 'unknown';
    row('sensor.status', t(`sensor.status.${status}`));
    row('sensor.measured', s.time ? dateTime(s.time) : '');
    row('sensor.type', typeLabel(s.type));
    frag.append(dl);
    const h = document.createElement('h3');
    h.textContent = t('sensor.history');
    frag.append(h);
    if (this.history === null) {
      // still loading: the chart's place stays empty
    } else if (this.history.length < 2) {
      const p = document.createElement('p');
      p.className = 'muted';
      p.textContent = t('sensor.noHistory');
      frag.append(p);
    } else {
      frag.append(...chart(this.history, s.unit || ''));
    }
    this.body.replaceChildren(frag);
  }
}

// readingsOf reads a readings answer: an array, or {readings: […]}, of
// {time, value}.
export function readingsOf(h) {
  const arr = Array.isArray(h) ? h : (h && (h.readings || h.history || h.values)) || [];
  return arr
    .filter((r) => r && typeof r.value === 'number' && r.time)
    .map((r) => ({ time: r.time, value: r.value }))
    .sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
}

// typeLabel names a sensor type in words; a type the dictionary does not
// know is shown as it is, its underscores as spaces.
export function typeLabel(type) {
  if (!type) return '';
  return has(`sensorType.${type}`) ? t(`sensorType.${type}`) : type.replace(/_/g, ' ');
}

// chart draws readings as a small SVG line, with the range and the first
// and last instants (day and time) written below it as text.
function chart(rs, unit) {
  const NS = 'http://www.w3.org/2000/svg';
  const W = 300, H = 100, L = 4, R = 4, T = 6, B = 4;
  const xs = rs.map((r) => Date.parse(r.time));
  const ys = rs.map((r) => r.value);
  const x0 = Math.min(...xs), x1 = Math.max(...xs);
  let y0 = Math.min(...ys), y1 = Math.max(...ys);
  if (y1 === y0) { y0 -= 1; y1 += 1; }
  const px = (x) => L + ((x - x0) / Math.max(1, x1 - x0)) * (W - L - R);
  const py = (y) => T + (1 - (y - y0) / (y1 - y0)) * (H - T - B);
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('class', 'chart');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', t('sensor.chart', { min: number(Math.min(...ys), 2), max: number(Math.max(...ys), 2), unit }));
  const area = document.createElementNS(NS, 'path');
  const pts = rs.map((r) => `${px(Date.parse(r.time)).toFixed(1)},${py(r.value).toFixed(1)}`);
  area.setAttribute('d', `M${px(x0).toFixed(1)},${H - B} L${pts.join(' L')} L${px(x1).toFixed(1)},${H - B} Z`);
  area.setAttribute('class', 'chart-area');
  const line = document.createElementNS(NS, 'polyline');
  line.setAttribute('points', pts.join(' '));
  line.setAttribute('class', 'chart-line');
  svg.append(area, line);
  const axis = document.createElement('div');
  axis.className = 'chart-axis';
  const a = document.createElement('span');
  a.textContent = dayTime(x0);
  const b = document.createElement('span');
  b.textContent = dayTime(x1);
  axis.append(a, b);
  const range = document.createElement('p');
  range.className = 'chart-range';
  const u = unit ? ` ${unit}` : '';
  range.textContent = t('sensor.range', { min: `${number(Math.min(...ys), 2)}${u}`, max: `${number(Math.max(...ys), 2)}${u}` });
  return [svg, axis, range];
}
