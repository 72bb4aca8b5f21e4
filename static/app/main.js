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
import { Tour, renderCard, layoutCard } from './tour.js';
import { Compare } from './compare.js';
import { fitFrame, projectedFrame } from './frame.js';
import { AreaLabels, scaleTextSize } from './labels.js';

const params = new URLSearchParams(location.search);
const kiosk = ['1', 'true', 'yes'].includes((params.get('kiosk') || '').toLowerCase());
const idleParam = Number(params.get('idle'));
const idleSeconds = Number.isFinite(idleParam) && idleParam > 0 ? Math.min(3600, Math.max(1, idleParam)) : 120;
// How long each view of the tour stays, in seconds (default 14 in a kiosk).
const dwellParam = Number(params.get('dwell'));
const dwellSeconds = Number.isFinite(dwellParam) && dwellParam > 0 ? Math.min(600, Math.max(0.5, dwellParam)) : undefined;

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

// The panels sit between the header and the timeline: where those end is
// measured, not guessed (both grow with the kiosk's sizes and the language).
function measureChrome() {
  const gap = kiosk ? 10 : 8;
  const bar = document.querySelector('.bar')?.getBoundingClientRect();
  const tl = document.getElementById('timeline')?.getBoundingClientRect();
  const root = document.documentElement.style;
  if (bar && bar.height) root.setProperty('--chrome-top', `${Math.round(bar.bottom + gap)}px`);
  if (tl && tl.height) root.setProperty('--chrome-bottom', `${Math.round(window.innerHeight - tl.top + gap)}px`);
}
window.addEventListener('resize', measureChrome);
if (window.ResizeObserver) {
  const ro = new ResizeObserver(() => measureChrome());
  for (const el of [document.querySelector('.bar'), document.getElementById('timeline')]) if (el) ro.observe(el);
}
// On the root too: in a kiosk 1rem is 19 px.
document.documentElement.classList.toggle('kiosk', kiosk);
document.body.classList.toggle('kiosk', kiosk);
i18n.applyTo(document);
layoutCard();
measureChrome();

// MapLibre's workers start while the scene and the style are fetched.
try {
  maplibre.prewarm();
} catch {
  // an older build without prewarm: the map starts them itself
}

// A kiosk goes full screen at the first touch. The browser allows it only
// within a user activation, which a finger's pointerdown does not grant (its
// pointerup and touchend do; a mouse's pointerdown does), so every one of
// them asks, from the moment the page runs.
if (kiosk) {
  const enterFullscreen = () => {
    if (document.fullscreenElement || !document.documentElement.requestFullscreen) return;
    if (navigator.userActivation && !navigator.userActivation.isActive) return; // not this event: the next one
    document.documentElement.requestFullscreen({ navigationUI: 'hide' }).catch(() => {});
  };
  for (const ev of ['pointerdown', 'pointerup', 'touchend', 'click', 'keydown']) {
    document.addEventListener(ev, enterFullscreen, { capture: true, passive: true });
  }
  document.addEventListener('contextmenu', (ev) => ev.preventDefault());
}

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
    title: scene.titles || scene.title, frame: scene.frame,
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
  marks.map = performance.now();

  // --- framing: each view is fitted into the part of the screen that the
  // header, the timeline, the map's buttons and (while the tour plays) the
  // tour's card leave free.
  const tourCard = document.getElementById('tour-card');
  const visibleRect = (el) => (el && !el.hidden && el.getClientRects().length ? el.getBoundingClientRect() : null);
  function viewPadding({ card = false, story = false } = {}) {
    const W = window.innerWidth, H = window.innerHeight, m = kiosk ? 20 : 14;
    const bar = visibleRect(document.querySelector('.bar'));
    const tlr = visibleRect(document.getElementById('timeline'));
    const nav = visibleRect(document.querySelector('.maplibregl-ctrl-top-right .maplibregl-ctrl'));
    const p = { top: (bar ? bar.bottom : 0) + m, bottom: (tlr ? H - tlr.top : 0) + m, left: m, right: m };
    if (nav && nav.bottom > p.top) p.right = Math.max(p.right, W - nav.left + m);
    const c = card ? visibleRect(tourCard) : null;
    if (c) {
      if (document.body.classList.contains('tour-side')) p.left = Math.max(p.left, c.right + m);
      else p.bottom = Math.max(p.bottom, H - c.top + m);
    }
    const st = story ? visibleRect(document.getElementById('story')) : null;
    if (st) {
      if (st.width < W * 0.6) p.right = Math.max(p.right, W - st.left + m);
      else p.bottom = Math.max(p.bottom, H - st.top + m);
    }
    // Never less than a third of the screen for the map.
    if (W - p.left - p.right < W / 3) p.left = p.right = m;
    if (H - p.top - p.bottom < H / 4) p.top = p.bottom = m;
    return p;
  }
  // frameFor is the camera that shows v (a view, or home) framed; without a
  // frame, its centre and zoom.
  function frameFor(v, { card = false } = {}) {
    const padding = viewPadding({ card });
    const pitch = v.pitch ?? 0, bearing = v.bearing ?? 0;
    if (Array.isArray(v.frame) && v.frame.length === 4) {
      // A portrait screen may see a wide frame turned a quarter.
      const turn = window.innerHeight > window.innerWidth * 1.2;
      return fitFrame(map, maplibre, v.frame, { pitch, bearing, padding, turn, minZoom: mapOptions.minZoom, maxZoom: 17 });
    }
    return { center: v.center, zoom: v.zoom, pitch, bearing, padding };
  }
  // The first camera, before any tile is asked for: the kiosk opens on the
  // tour's first view beside its card, a desk on the scene's frame.
  const firstView = kiosk && scene.views?.length ? scene.views[0] : null;
  if (firstView) {
    document.body.classList.add('touring');
    tourCard.hidden = false;
    renderCard(firstView, 0, scene.views.length, kiosk);
  }
  map.jumpTo(frameFor(firstView || home, { card: !!firstView }));

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
    if (ev.sourceId === 'twin' && ev.tile) {
      metrics.tileRequests++;
      marks.firstTileAsked ??= performance.now();
    }
  });
  map.once('style.load', () => {
    marks.style = performance.now();
  });
  map.on('sourcedata', (ev) => {
    if (ev.sourceId === 'twin' && ev.tile && !marks.firstTile) marks.firstTile = performance.now();
  });

  // --- time to the first buildings (BENCHMARKS.md): the first frame that
  // draws one, watched from the first frame on (MapLibre's load waits for
  // every tile of the view; the first buildings come earlier).
  const firstBuildings = () => {
    if (metrics.firstBuildingsMs) return;
    const layers = ['buildings', 'buildings-planned'].filter((l) => map.getLayer(l));
    if (!layers.length) return;
    let found = 0;
    try {
      found = map.queryRenderedFeatures({ layers }).length;
    } catch {
      return; // the style is not ready yet
    }
    if (found) {
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

  await new Promise((resolve) => map.once('load', resolve));
  marks.load = performance.now();
  firstBuildings();
  // The attribution stays folded behind its button: the sources are listed
  // in the layers panel too.
  for (const el of document.querySelectorAll('.maplibregl-ctrl-attrib.maplibregl-compact-show')) {
    el.classList.remove('maplibregl-compact-show');
    el.removeAttribute('open');
  }

  // The tile layer of sensors is replaced by the live one.
  if (map.getLayer('sensors')) map.setLayoutProperty('sensors', 'visibility', 'none');
  // Labels a kiosk visitor reads at arm's length.
  if (kiosk) scaleTextSize(map, 1.5);

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
    onPlay: () => tour.stop(),
  });

  // --- inspect
  const story = new Story({ map, getYear: () => year, setYear: (y) => setYear(y), end: tl.end, kiosk });
  const live = new Live(map, {
    maps, kiosk,
    onInvalidate: (bbox) => invalidateSoon(bbox),
    onSensors: (ids) => sensorPanel.update(ids),
  });
  const sensorPanel = new SensorPanel(live);
  live.install(map);
  document.getElementById('story-close').addEventListener('click', () => sensorPanel.close());

  function openStory(layer, id, f, extra) {
    sensorPanel.close();
    document.getElementById('story').dataset.kind = 'story';
    return story.open(layer, id, f, extra);
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
  // event of an older scene that names none): buildings first, then
  // landmarks, infrastructure, zones.
  async function openAny(id, extra) {
    for (const layer of ['buildings', 'landmarks', 'infrastructure', 'zones']) {
      try {
        const item = await fetchJSON(`/collections/${layer}/items/${encodeURIComponent(id)}`);
        if (item) return openStory(layer, id, null, extra);
      } catch {
        // not in this layer
      }
    }
    return undefined;
  }

  // goToEvent sets the event's year, opens the story of its feature and
  // flies to it, framed beside the story panel; instant jumps (automation).
  function goToEvent(ev, { instant = false } = {}) {
    timeline.pause();
    timeline.picked = true;
    tour.stop();
    setYear(ev.year);
    const extra = { event: ev };
    let opened;
    if (ev.feature && ev.layer) opened = openStory(ev.layer, ev.feature, null, extra);
    const c = ev.center;
    if (Array.isArray(c) && (c[0] !== 0 || c[1] !== 0)) {
      const cam = { center: c, zoom: ev.zoom || Math.max(map.getZoom(), 15.5), padding: viewPadding({ story: !!opened }) };
      if (instant) map.jumpTo(cam);
      else map.flyTo({ ...cam, essential: true, duration: 2500 });
    }
    if (ev.feature && !ev.layer) {
      if (instant) opened = openAny(ev.feature, extra);
      else map.once('moveend', () => openAny(ev.feature, extra));
    }
    return opened;
  }

  // --- tiles changed on the server: boxes arriving close together (a
  // company sending a large pilot) are gathered for 250 ms and their
  // union refreshed once.
  let pendingBox = null;
  function invalidateSoon(b) {
    if (pendingBox) {
      pendingBox = [Math.min(pendingBox[0], b[0]), Math.min(pendingBox[1], b[1]), Math.max(pendingBox[2], b[2]), Math.max(pendingBox[3], b[3])];
      return;
    }
    pendingBox = b;
    setTimeout(() => { const box = pendingBox; pendingBox = null; invalidate(box); }, 250);
  }
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
  // The names of areas, one label each (the style's own label repeats in
  // every tile a polygon touches).
  const areaLabels = new AreaLabels({ kiosk });
  const layerList = document.getElementById('layer-list');
  const LAYER_GROUPS = layerGroups(map.getStyle());
  const applyLayers = (m) => {
    for (const [id, on] of Object.entries(layerState)) {
      for (const l of LAYER_GROUPS[id] || []) {
        if (m.getLayer(l)) m.setLayoutProperty(l, 'visibility', on ? 'visible' : 'none');
      }
    }
    if (m.getLayer('sensors')) m.setLayoutProperty('sensors', 'visibility', 'none');
    areaLabels.apply(m, layerState.zones !== false);
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
    const generated = pick(scene.generatedTexts) || (i18n.getLang() === 'en' ? scene.generated : '');
    document.getElementById('sources-generated').textContent = generated ? `${t('sources.generated')}: ${generated}` : '';
  }
  renderSources();

  // --- compare
  const compare = new Compare({
    map, maplibre, style, start: tl.start, end: tl.end, kiosk, mapOptions,
    getYear: () => year, setYear: (y) => setYear(y),
    // Comparing is the visitor's own use of the map: the tour gives way.
    onOpen: () => tour.stop(),
    onMapB: (mb) => {
      compare.mapBReady = true;
      if (kiosk) scaleTextSize(mb, 1.5);
      areaLabels.install(mb);
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
      // A building with several sites: the one that stands in the year
      // shown, else the latest.
      let site = entry;
      if (entry.sites && entry.sites.length > 1) {
        site = entry.sites.find((s) => (s.from ?? -Infinity) <= year && (s.to === undefined || s.to > year)) || entry.sites[entry.sites.length - 1];
      }
      const alive = (site.from ?? -Infinity) <= year && (site.to === undefined || site.to > year);
      if (!alive && site.from !== undefined) {
        setYear(site.to !== undefined ? Math.max(site.from, site.to - 1) : Math.max(site.from, Math.min(tl.end, site.from + 1)));
      }
      timeline.picked = true;
      openStory(entry.layer, site.id, null);
      map.flyTo({ center: site.centre, zoom: Math.max(map.getZoom(), 16), essential: true, padding: viewPadding({ story: true }) });
    },
  });

  // --- tour and kiosk
  const tour = new Tour({
    map, views: scene.views || [], home, kiosk, idleSeconds, dwellSeconds,
    frame: (v, opts) => frameFor(v, opts),
    setYear: (y) => setYear(y), animateYear, getYear: () => year,
    // Something the visitor left open, which an idle kiosk closes even
    // while the tour plays.
    busy: () => compare.isOn() || !layersPanel.hidden || !document.getElementById('story').hidden || timeline.playing(),
    onReset: () => {
      timeline.pause();
      timeline.rest();
      closePanels();
      compare.close();
      layersPanel.hidden = true;
      layersBtn.setAttribute('aria-expanded', 'false');
      search.hide();
      timeline.closeTip();
    },
  });

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
  // The areas' names once the town is on screen: they are not what a
  // visitor waits for.
  map.once('idle', () => {
    areaLabels.load().then(() => {
      for (const m of maps()) {
        areaLabels.install(m);
        applyLayers(m);
      }
    }, (err) => console.warn('area labels:', err));
  });

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
    tour: {
      playing: () => tour.playing(), index: () => tour.index(), start: () => tour.start(0), stop: () => tour.stop(), resets: () => tour.resets,
      // show(i) jumps to view i at once (screenshots and checks); frame(i) is
      // where its frame lies on screen now, card() where the card lies.
      show: (i) => (tour.playing() ? tour.go(i, { instant: true }) : tour.start(i, { instant: true })),
      frame: (i) => (scene.views?.[i]?.frame ? projectedFrame(map, scene.views[i].frame) : null),
      card: () => { const r = visibleRect(tourCard); return r && { x0: r.left, y0: r.top, x1: r.right, y1: r.bottom }; },
      views: () => (scene.views || []).length,
    },
    events: {
      count: () => (scene.events || []).length,
      open: (i, opts) => goToEvent(scene.events[i], opts),
    },
    compare: { open: (a, b) => compare.open(a, b), close: () => compare.close(), on: () => compare.isOn(), map: () => compare.mapB, year: () => compare.yearB, setYear: (y) => compare.setYearB(y) },
    live: { sensors: () => [...live.sensors.values()], connected: () => !!(live.ws && live.ws.readyState === 1), updates: () => live.updates },
    openStory: (layer, id) => openStory(layer, id, null),
    openSensor: (id) => openSensor(id),
    timeline: { labels: () => timeline.labels(), playing: () => timeline.playing(), pause: () => timeline.pause() },
    story: () => (story.current ? { layer: story.current.layer, id: story.current.id, loading: story.current.loading, failed: story.current.failed, sites: story.current.sites.map((x) => x.id) } : null),
    viewPadding: (opts) => viewPadding(opts),
    meshes: { loaded: () => !!(meshes && meshes.loaded), features: (y) => (meshes ? meshes.features(y) : []), pick: (x, y) => (meshes ? meshes.pick({ x, y }) : null) },
  };
  document.body.dataset.ready = '1';

  if (kiosk) {
    tour.reset(true);
    tour.armIdle();
  }
  await sleep(0);
}

