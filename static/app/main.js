// The viewer: old and new town in 3D and in time. It reads the scene
// (/api/scene) and the style (/style.json), draws the server's vector tiles
// with MapLibre GL JS, filters them by year on the client (no tile is
// fetched when the year changes), and streams live sensors from /ws.
//
// For kiosks and automation the page exposes window.twin (see README):
// map, setYear(y), year(), and a little more.

import * as maplibre from '../lib/maplibre-gl/maplibre-gl.mjs';
import * as i18n from './i18n.js';
import { t, pick } from './i18n.js';
import { fetchJSON, retrying, setStatus, clearStatus, relabelStatus, sleep } from './net.js';
import { Timeline } from './timeline.js';
import { Story } from './story.js';
import { Live, SensorPanel, LAYERS as LIVE_LAYERS, tileIDs } from './live.js';
import { Search } from './search.js';
import { Tour } from './tour.js';
import { Compare } from './compare.js';

const params = new URLSearchParams(location.search);
const kiosk = ['1', 'true', 'yes'].includes((params.get('kiosk') || '').toLowerCase());
const idleParam = Number(params.get('idle'));
const idleSeconds = Number.isFinite(idleParam) && idleParam > 0 ? Math.min(3600, Math.max(1, idleParam)) : 120;

// The style's layers, grouped by the scene layer they draw.
// The style layers that draw each of the twin's layers: a style layer's
// metadata "twin:layer", else its source-layer; the live sensor markers
// draw the sensors layer. Read from the style, so that a new layer needs
// only its style entries and its words in i18n.js.
function layerGroups(style) {
  const groups = {};
  for (const l of style.layers || []) {
    const id = l.metadata?.['twin:layer'] || l['source-layer'];
    if (id) (groups[id] ||= []).push(l.id);
  }
  groups.sensors = [...(groups.sensors || []), ...LIVE_LAYERS];
  return groups;
}
// Layers a click or touch can inspect, in order of preference.
const PICKABLE = ['live-sensors', 'buildings', 'buildings-planned', 'landmarks', 'pilots-point', 'pilots-extrusion', 'pilots-fill'];

i18n.setLang(params.get('lang') || 'sv');
document.body.classList.toggle('kiosk', kiosk);
i18n.applyTo(document);

const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, v));

boot().catch((err) => {
  // Never an error page: say so quietly and start again.
  console.warn('viewer: start failed, retrying:', err);
  setStatus('boot', 'net.waiting');
  setTimeout(() => location.reload(), 10000);
});

const marks = { module: performance.now() };

async function boot() {
  setStatus('boot', 'net.loading');
  const waiting = () => setStatus('boot', 'net.waiting');
  const [scene, style] = await Promise.all([
    retrying(() => fetchJSON('/api/scene'), waiting),
    retrying(() => fetchJSON('/style.json'), waiting),
  ]);
  clearStatus('boot');
  marks.scene = performance.now();

  const tl = scene.timeline;
  const now = clamp(tl.now || i18n.dateToDecimalYear(new Date()), tl.start, tl.end);
  let year = now;
  // The year the page opens in, and from when a building counts as new
  // (built within the last 15 years of the scene's present), go into the
  // style's global state before the first frame.
  style.state = {
    ...(style.state || {}), year: { default: now }, now: { default: now }, newFrom: { default: Math.floor(now) - 15 }, lang: { default: i18n.getLang() },
  };
  const home = {
    center: scene.center, zoom: scene.zoom, pitch: scene.pitch ?? 50, bearing: scene.bearing ?? 0, year: now,
    title: scene.titles || scene.title,
  };

  const [w, s, e, n] = scene.bounds;
  const padX = (e - w) * 0.6, padY = (n - s) * 0.6;
  const mapOptions = {
    maxPitch: 72,
    minZoom: 9,
    maxBounds: [[w - padX, s - padY], [e + padX, n + padY]],
    cooperativeGestures: false,
    fadeDuration: 120,
    localIdeographFontFamily: "'Noto Sans', sans-serif",
    dragRotate: true,
    touchPitch: true,
    pitchWithRotate: true,
  };
  const map = new maplibre.Map({
    container: 'map', style, center: home.center, zoom: home.zoom, pitch: home.pitch, bearing: home.bearing,
    attributionControl: { compact: true },
    ...mapOptions,
  });
  map.addControl(new maplibre.NavigationControl({ visualizePitch: true }), 'top-right');
  if (!kiosk) map.addControl(new maplibre.ScaleControl({ unit: 'metric' }), 'bottom-right');

  const metrics = { start: performance.timeOrigin, firstBuildingsMs: 0, tileRequests: 0, marks };
  let lost = false;
  map.on('error', (ev) => {
    const err = ev.error || {};
    // A tile or image that could not be fetched while the server is away is
    // expected and retried; anything else (a bad style, an expression
    // error) is a fault to be seen.
    if (lost || err.status !== undefined || /fetch|network|Failed to load|AJAXError/i.test(String(err.message || err.name))) {
      console.warn('map:', err.message || err);
    } else {
      console.error('map:', err.message || err);
    }
  });
  map.on('dataloading', (ev) => {
    if (ev.sourceId === 'twin' && ev.tile) metrics.tileRequests++;
  });

  await new Promise((resolve) => map.once('load', resolve));
  marks.load = performance.now();
  // The attribution stays folded behind its button: the sources are listed
  // in the layers panel too.
  for (const el of document.querySelectorAll('.maplibregl-ctrl-attrib.maplibregl-compact-show')) {
    el.classList.remove('maplibregl-compact-show');
    el.removeAttribute('open');
  }

  // The tile layer of sensors is replaced by the live one.
  if (map.getLayer('sensors')) map.setLayoutProperty('sensors', 'visibility', 'none');

  const maps = () => (compare.mapB && compare.mapBReady ? [map, compare.mapB] : [map]);

  // --- time
  let anim = 0;
  function setYear(y, opts = {}) {
    y = Number(y);
    if (!Number.isFinite(y)) return year;
    if (!opts.animating) cancelAnimationFrame(anim);
    year = clamp(y, tl.start, tl.end);
    map.setGlobalStateProperty('year', year);
    timeline.show(year);
    compare.relabel();
    story.relabel();
    return year;
  }
  // animateYear moves the year to `to` over ms, a whole year at a time (the
  // tiles are re-filtered only when the year really changes).
  function animateYear(to, ms) {
    cancelAnimationFrame(anim);
    const from = year, t0 = performance.now();
    let shown = Math.round(from);
    const step = () => {
      const k = Math.min(1, (performance.now() - t0) / ms);
      const e = k < 0.5 ? 2 * k * k : 1 - (-2 * k + 2) ** 2 / 2;
      const y = from + (to - from) * e;
      if (k >= 1) {
        setYear(to, { animating: true });
        return;
      }
      if (Math.round(y) !== shown) {
        shown = Math.round(y);
        setYear(shown, { animating: true });
      }
      anim = requestAnimationFrame(step);
    };
    anim = requestAnimationFrame(step);
  }

  const timeline = new Timeline({
    start: tl.start, end: tl.end, now, events: scene.events || [], kiosk,
    onYear: (y) => setYear(y),
    onEvent: (ev) => goToEvent(ev),
  });

  // --- inspect
  const story = new Story({ map, getYear: () => year, setYear: (y) => setYear(y), end: tl.end, kiosk });
  const live = new Live(map, {
    maps, kiosk,
    onInvalidate: (bbox) => invalidate(bbox),
    onSensors: (ids) => sensorPanel.update(ids),
  });
  const sensorPanel = new SensorPanel(live);
  live.install(map);
  document.getElementById('story-close').addEventListener('click', () => sensorPanel.close());

  function openStory(layer, id, f) {
    sensorPanel.close();
    document.getElementById('story').dataset.kind = 'story';
    return story.open(layer, id, f);
  }
  function openSensor(id) {
    story.current = null;
    story.highlight(null);
    sensorPanel.open(id);
  }
  function closePanels() {
    story.close();
    sensorPanel.close();
    document.getElementById('story').hidden = true;
  }

  const pickFeature = (m, point) => {
    const r = kiosk ? 18 : 6;
    const box = [[point.x - r, point.y - r], [point.x + r, point.y + r]];
    const layers = PICKABLE.filter((l) => m.getLayer(l) && m.getLayoutProperty(l, 'visibility') !== 'none');
    const fs = m.queryRenderedFeatures(box, { layers });
    fs.sort((a, b) => PICKABLE.indexOf(a.layer.id) - PICKABLE.indexOf(b.layer.id));
    return fs[0];
  };
  const onClick = (m) => (ev) => {
    // A building drawn as a mesh (meshes.js) is not in the vector layers.
    const hit = m === map && meshes && meshes.pick(ev.point);
    if (hit) return openStory(hit.layer, hit.id, null);
    const f = pickFeature(m, ev.point);
    if (!f) {
      closePanels();
      return;
    }
    const id = String(f.properties.id ?? f.id);
    if (f.layer.id === 'live-sensors') openSensor(id);
    else openStory(f.sourceLayer || 'buildings', id, f);
  };
  map.on('click', onClick(map));
  const hover = (m) => (ev) => {
    m.getCanvas().style.cursor = pickFeature(m, ev.point) ? 'pointer' : '';
  };
  if (!kiosk) map.on('mousemove', hover(map));

  // openAny opens the story of a feature whose layer is not known (an
  // event's feature): buildings first, then landmarks, infrastructure.
  async function openAny(id) {
    for (const layer of ['buildings', 'landmarks', 'infrastructure', 'zones']) {
      try {
        const item = await fetchJSON(`/collections/${layer}/items/${encodeURIComponent(id)}`);
        if (item) return openStory(layer, id, null);
      } catch {
        // not in this layer
      }
    }
    return undefined;
  }

  function goToEvent(ev) {
    timeline.pause();
    tour.stop();
    setYear(ev.year);
    const c = ev.center;
    if (Array.isArray(c) && (c[0] !== 0 || c[1] !== 0)) {
      map.flyTo({ center: c, zoom: ev.zoom || Math.max(map.getZoom(), 15.5), essential: true, duration: 2500 });
    }
    if (ev.feature) map.once('moveend', () => openAny(ev.feature));
  }

  // --- tiles changed on the server
  function invalidate(bbox) {
    if (meshes) meshes.reload().catch((err) => console.warn('meshes:', err));
    for (const m of maps()) {
      const src = m.getSource('twin');
      if (!src) continue;
      const z = Math.floor(m.getZoom());
      const ids = [];
      let all = false;
      for (let zz = Math.max(src.minzoom ?? 0, z - 1); zz <= Math.min(src.maxzoom ?? 22, z + 1); zz++) {
        const l = tileIDs(bbox, zz);
        if (!l) all = true;
        else ids.push(...l);
      }
      try {
        if (all) m.refreshTiles('twin');
        else m.refreshTiles('twin', ids);
      } catch (err) {
        console.warn('refreshing tiles:', err);
      }
    }
  }

  // --- layers panel
  const layerState = {};
  const layerList = document.getElementById('layer-list');
  const LAYER_GROUPS = layerGroups(map.getStyle());
  const applyLayers = (m) => {
    for (const [id, on] of Object.entries(layerState)) {
      for (const l of LAYER_GROUPS[id] || []) {
        if (m.getLayer(l)) m.setLayoutProperty(l, 'visibility', on ? 'visible' : 'none');
      }
    }
    if (m.getLayer('sensors')) m.setLayoutProperty('sensors', 'visibility', 'none');
  };
  function renderLayers() {
    layerList.replaceChildren();
    for (const l of scene.layers) {
      if (!(l.id in LAYER_GROUPS)) continue;
      if (!(l.id in layerState)) layerState[l.id] = true;
      const li = document.createElement('li');
      const label = document.createElement('label');
      label.className = 'toggle';
      const cb = document.createElement('input');
      cb.type = 'checkbox';
      cb.checked = layerState[l.id];
      cb.dataset.layer = l.id;
      cb.addEventListener('change', () => {
        layerState[l.id] = cb.checked;
        maps().forEach(applyLayers);
      });
      const span = document.createElement('span');
      span.textContent = i18n.has(`layer.${l.id}`) ? t(`layer.${l.id}`) : pick(l.titles || l.title);
      const count = scene.counts?.[l.id];
      if (count) {
        const c = document.createElement('span');
        c.className = 'count';
        c.textContent = i18n.number(count, 0);
        span.append(' ', c);
      }
      label.append(cb, span);
      li.append(label);
      layerList.append(li);
    }
  }
  renderLayers();
  const ghosts = document.getElementById('toggle-ghosts');
  ghosts.addEventListener('change', () => {
    for (const m of maps()) m.setGlobalStateProperty('ghosts', ghosts.checked);
    document.querySelector('.ghost-legend').hidden = !ghosts.checked;
  });
  const layersBtn = document.getElementById('btn-layers');
  const layersPanel = document.getElementById('layers-panel');
  layersBtn.addEventListener('click', () => {
    layersPanel.hidden = !layersPanel.hidden;
    layersBtn.setAttribute('aria-expanded', String(!layersPanel.hidden));
  });

  function renderSources() {
    const list = document.getElementById('sources-list');
    list.replaceChildren();
    for (const src of scene.sources || []) {
      const li = document.createElement('li');
      const name = document.createElement(kiosk || !src.url ? 'span' : 'a');
      name.textContent = src.name;
      if (name.tagName === 'A') {
        name.href = src.url;
        name.target = '_blank';
        name.rel = 'noopener noreferrer';
      }
      li.append(name);
      if (src.licence) li.append(` (${src.licence})`);
      if (src.note) li.append(`: ${src.note}`);
      list.append(li);
    }
    document.getElementById('sources-generated').textContent = scene.generated ? `${t('sources.generated')}: ${scene.generated}` : '';
  }
  renderSources();

  // --- compare
  const compare = new Compare({
    map, maplibre, style, start: tl.start, end: tl.end, kiosk, mapOptions,
    getYear: () => year, setYear: (y) => setYear(y),
    onMapB: (mb) => {
      compare.mapBReady = true;
      live.install(mb);
      live.setAll();
      applyLayers(mb);
      mb.setGlobalStateProperty('ghosts', ghosts.checked);
      mb.on('click', onClick(mb));
      if (!kiosk) mb.on('mousemove', hover(mb));
    },
  });
  const compareBtn = document.getElementById('btn-compare');
  compareBtn.addEventListener('click', () => {
    if (compare.isOn() && compare.yearBDefaulted !== true) {
      compare.yearBDefaulted = true;
      setYear(Math.max(tl.start, Math.floor(now) - 15));
      compare.setYearB(Math.min(tl.end, Math.floor(now) + 10));
    }
  });

  // --- search
  const search = new Search({
    onPick: (entry) => {
      tour.stop();
      if (entry.layer === 'sensors') {
        if (Math.abs(year - now) > 1) setYear(now); // live values belong to the present
        map.flyTo({ center: entry.centre, zoom: Math.max(map.getZoom(), 15.5), essential: true });
        openSensor(entry.id);
        return;
      }
      const alive = (entry.from ?? -Infinity) <= year && (entry.to === undefined || entry.to > year);
      if (!alive && entry.from !== undefined) {
        setYear(entry.to !== undefined ? Math.max(entry.from, entry.to - 1) : Math.max(entry.from, Math.min(tl.end, entry.from + 1)));
      }
      map.flyTo({ center: entry.centre, zoom: Math.max(map.getZoom(), 16), essential: true });
      openStory(entry.layer, entry.id, null);
    },
  });

  // --- tour and kiosk
  const tour = new Tour({
    map, views: scene.views || [], home, kiosk, idleSeconds,
    setYear: (y) => setYear(y), animateYear, getYear: () => year,
    onReset: () => {
      timeline.pause();
      closePanels();
      compare.close();
      layersPanel.hidden = true;
      layersBtn.setAttribute('aria-expanded', 'false');
      search.hide();
    },
  });
  if (kiosk) {
    document.addEventListener('contextmenu', (ev) => ev.preventDefault());
    document.addEventListener('pointerdown', () => {
      if (!document.fullscreenElement && document.documentElement.requestFullscreen) {
        document.documentElement.requestFullscreen({ navigationUI: 'hide' }).catch(() => {});
      }
    }, { passive: true });
  }

  // --- language
  function applyTitle() {
    const title = pick(scene.titles) || scene.title || t('app.title');
    document.getElementById('title').textContent = title;
    document.title = title;
  }
  applyTitle();
  document.getElementById('btn-lang').addEventListener('click', () => {
    const next = i18n.getLang() === 'sv' ? 'en' : 'sv';
    i18n.setLang(next);
    const u = new URL(location.href);
    if (next === 'sv') u.searchParams.delete('lang');
    else u.searchParams.set('lang', next);
    history.replaceState(null, '', u);
    document.getElementById('btn-lang').setAttribute('lang', next === 'sv' ? 'en' : 'sv');
    i18n.applyTo(document);
    for (const m of maps()) m.setGlobalStateProperty('lang', next);
    applyTitle();
    timeline.show(year);
    timeline.relabel();
    tour.relabel();
    compare.relabel();
    story.relabel();
    sensorPanel.update();
    search.relabel();
    live.relabel();
    renderLayers();
    renderSources();
    relabelStatus();
  });
  document.getElementById('btn-lang').setAttribute('lang', i18n.getLang() === 'sv' ? 'en' : 'sv');

  // --- time to the first buildings (BENCHMARKS.md)
  const firstBuildings = () => {
    if (metrics.firstBuildingsMs) return;
    if (map.queryRenderedFeatures({ layers: ['buildings', 'buildings-planned'].filter((l) => map.getLayer(l)) }).length) {
      metrics.firstBuildingsMs = performance.now();
      map.off('render', throttledFirst);
      startMeshes();
    }
  };
  // The buildings with a 3D shape (meshes.js, three.js) are loaded once the
  // first extrusions are drawn, so that they never delay the opening view.
  let meshes = null;
  function startMeshes() {
    import('./meshes.js').then(({ Meshes }) => {
      meshes = new Meshes(map, maplibre, { metrics });
      return meshes.start('pilots-line');
    }).catch((err) => console.warn('meshes:', err));
  }
  let lastCheck = 0;
  const throttledFirst = () => {
    const tnow = performance.now();
    if (tnow - lastCheck < 50) return;
    lastCheck = tnow;
    firstBuildings();
  };
  map.on('render', throttledFirst);

  // The connection state is shared: while the socket is down, failed tile
  // fetches are expected.
  const origSet = live.scheduleReconnect.bind(live);
  live.scheduleReconnect = () => {
    lost = true;
    origSet();
  };
  map.on('sourcedata', (ev) => {
    if (ev.sourceId === 'twin' && ev.tile && live.ws && live.ws.readyState === 1) lost = false;
  });

  timeline.show(year);
  live.start();

  window.twin = {
    map,
    setYear: (y) => setYear(y),
    year: () => year,
    kiosk,
    idleSeconds,
    scene,
    metrics,
    lang: () => i18n.getLang(),
    i18nKeys: (l) => i18n.keys(l),
    tour: { playing: () => tour.playing(), index: () => tour.index(), start: () => tour.start(0), stop: () => tour.stop(), resets: () => tour.resets },
    compare: { open: (a, b) => compare.open(a, b), close: () => compare.close(), on: () => compare.isOn(), map: () => compare.mapB, year: () => compare.yearB, setYear: (y) => compare.setYearB(y) },
    live: { sensors: () => [...live.sensors.values()], connected: () => !!(live.ws && live.ws.readyState === 1), updates: () => live.updates },
    openStory: (layer, id) => openStory(layer, id, null),
    meshes: { loaded: () => !!(meshes && meshes.loaded), features: (y) => (meshes ? meshes.features(y) : []), pick: (x, y) => (meshes ? meshes.pick({ x, y }) : null) },
    story: () => (story.current ? { layer: story.current.layer, id: story.current.id, loading: story.current.loading, sites: story.current.sites.map((x) => x.id) } : null),
  };
  document.body.dataset.ready = '1';

  if (kiosk) tour.reset(true);
  await sleep(0);
}

