// The guided tour through the scene's views, and the kiosk's idle
// behaviour: after `idle` seconds without a touch the view resets and the
// tour plays again; a touch on the map hands it to the visitor.
//
// The tour's card sits in a strip at the side (landscape) or at the bottom
// (portrait), and every view is framed in the part of the map the card,
// the header and the timeline leave free: its subject is always beside the
// card, never under it. A view with a route (the church's move) draws the
// route and sends a marker along it, the year changing as it arrives.

import { t, pick } from './i18n.js';

const ROUTE_SOURCE = 'tour-route';
const ROUTE_LAYERS = ['tour-route-way', 'tour-route-done', 'tour-route-head'];

export class Tour {
  // opts: {map, frame(view, {card}) → camera, views, home, kiosk,
  // idleSeconds, dwellSeconds, setYear, animateYear, getYear, onReset,
  // busy() → whether the visitor left something open}
  constructor(opts) {
    this.o = opts;
    this.views = opts.views.length ? opts.views : [opts.home];
    this.i = -1;
    this.timer = 0;
    this.on = false;
    this.card = document.getElementById('tour-card');
    this.btn = document.getElementById('btn-tour');
    this.lastActivity = performance.now();
    this.resets = 0;
    this.routeAnim = 0;
    const dwell = opts.dwellSeconds ?? (opts.kiosk ? 14 : 11);
    this.dwellMs = dwell * 1000;
    // Flights and journeys take their time, but not longer than a view
    // stays (a short dwell is for automation).
    this.flightMs = Math.min(opts.kiosk ? 5000 : 4000, Math.max(1500, this.dwellMs));
    this.routeMs = Math.min(7000, Math.max(2000, this.dwellMs));

    this.btn.addEventListener('click', () => (this.on ? this.stop() : this.start(0)));
    document.getElementById('tour-prev').addEventListener('click', () => this.go(this.i - 1));
    document.getElementById('tour-next').addEventListener('click', () => this.go(this.i + 1));
    document.getElementById('tour-stop').addEventListener('click', () => this.stop());
    document.getElementById('btn-home').addEventListener('click', () => this.reset(false));

    // A visitor's touch, click, key or wheel is activity. On the map it also
    // takes the map from the tour.
    const activity = (e) => {
      this.lastActivity = performance.now();
      if (this.on && e.isTrusted && !this.card.contains(e.target) && e.target !== this.btn && !this.btn.contains(e.target)) {
        if (e.target.closest && e.target.closest('#map, #map-b')) this.stop();
      }
    };
    for (const ev of ['pointerdown', 'keydown', 'wheel', 'touchstart']) {
      document.addEventListener(ev, activity, { capture: true, passive: true });
    }
    // A new shape of screen (a kiosk turned, a window resized) frames the
    // current view again.
    let resizeTimer = 0;
    window.addEventListener('resize', () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(() => {
        this.layout();
        if (this.on && this.i >= 0) this.o.map.jumpTo(this.camera(this.views[this.i]));
      }, 150);
    });
    this.layout();
  }

  layout() {
    layoutCard();
  }

  // armIdle starts watching for an idle kiosk (once the page is ready).
  armIdle() {
    clearInterval(this.idleTimer);
    this.lastActivity = performance.now();
    this.idleTimer = setInterval(() => this.checkIdle(), 500);
  }

  // checkIdle resets the kiosk after idle seconds without a touch, unless
  // the tour is playing with nothing left open.
  checkIdle() {
    if (performance.now() - this.lastActivity < this.o.idleSeconds * 1000) return;
    if (this.on && !this.o.busy()) return;
    this.reset(true);
  }

  playing() {
    return this.on;
  }

  index() {
    return this.i;
  }

  // camera is where view v is seen from, framed beside the card while the
  // tour is on.
  camera(v) {
    return this.o.frame(v, { card: this.on && !this.card.hidden });
  }

  // reset puts everything back as the page opened: panels closed, the
  // comparison ended, the present year, the opening camera; with tour, the
  // tour then plays (the kiosk's resting state).
  reset(tour) {
    this.resets++;
    this.stop();
    this.o.onReset();
    this.lastActivity = performance.now();
    const h = this.o.home;
    this.o.setYear(h.year);
    if (tour) {
      // Straight to the first view, beside the card.
      this.start(0, { instant: true });
    } else {
      this.o.map.flyTo({ ...this.o.frame(h, { card: false }), essential: true, duration: 1500 });
    }
  }

  start(i = 0, opts) {
    this.on = true;
    this.card.hidden = false;
    document.body.classList.add('touring');
    this.relabel();
    this.go(i, opts);
  }

  stop() {
    if (!this.on) return;
    this.on = false;
    clearTimeout(this.timer);
    this.stopRoute(true);
    this.card.hidden = true;
    document.body.classList.remove('touring');
    this.lastActivity = performance.now();
    this.relabel();
  }

  // go shows view i: flies there (or jumps, with instant), moves the year,
  // follows its route, and after the dwell goes on to the next.
  go(i, { instant = false } = {}) {
    if (!this.on) return;
    const n = this.views.length;
    this.i = ((i % n) + n) % n;
    const v = this.views[this.i];
    clearTimeout(this.timer);
    this.stopRoute(!v.route);
    this.render();
    const m = this.o.map;
    const cam = this.camera(v);
    const route = v.route && Array.isArray(v.route.path) && v.route.path.length > 1 ? v.route : null;
    if (instant) {
      m.jumpTo(cam);
      if (route) this.drawRoute(route.path, 1);
      this.o.setYear(v.year ?? this.o.getYear());
      this.next = setTimeout(() => this.go(this.i + 1), this.dwellMs);
      return;
    }
    const flight = this.flightMs;
    m.flyTo({ ...cam, duration: flight, essential: true, curve: 1.3 });
    const during = route ? route.year : v.year;
    if (during) this.o.animateYear(during, flight * 0.8);
    let after = flight;
    if (route) {
      this.drawRoute(route.path, 0);
      this.timer = setTimeout(() => this.followRoute(route, v.year), flight);
      after += this.routeMs;
    }
    this.next = setTimeout(() => {
      if (this.on && this.views[this.i] === v) this.go(this.i + 1);
    }, after + this.dwellMs);
  }

  // followRoute moves the marker along the route; on arrival the year
  // becomes the view's (the building stands at its new site).
  followRoute(route, arrivalYear) {
    if (!this.on) return;
    const t0 = performance.now();
    let last = 0;
    const step = () => {
      const k = Math.min(1, (performance.now() - t0) / this.routeMs);
      if (k >= 1 || performance.now() - last > 66) {
        last = performance.now();
        this.drawRoute(route.path, k < 1 ? k * k * (3 - 2 * k) : 1);
      }
      if (k >= 1) {
        this.routeAnim = 0;
        if (arrivalYear) this.o.animateYear(arrivalYear, 600);
        return;
      }
      this.routeAnim = requestAnimationFrame(step);
    };
    this.routeAnim = requestAnimationFrame(step);
  }

  // drawRoute shows path with the part up to fraction k travelled and the
  // marker at its head.
  drawRoute(path, k) {
    const m = this.o.map;
    if (!m.getSource(ROUTE_SOURCE)) this.installRoute(m);
    const done = along(path, k);
    m.getSource(ROUTE_SOURCE)?.setData({
      type: 'FeatureCollection',
      features: [
        { type: 'Feature', properties: { part: 'way' }, geometry: { type: 'LineString', coordinates: path } },
        { type: 'Feature', properties: { part: 'done' }, geometry: { type: 'LineString', coordinates: done.length > 1 ? done : [path[0], path[0]] } },
        { type: 'Feature', properties: { part: 'head' }, geometry: { type: 'Point', coordinates: done[done.length - 1] } },
      ],
    });
  }

  installRoute(m) {
    m.addSource(ROUTE_SOURCE, { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
    // Above the buildings' footprints, below the labels.
    const before = ['landmarks', 'zones-label', 'roads-label', 'landmarks-label'].find((l) => m.getLayer(l));
    const r = this.o.kiosk ? 1.4 : 1;
    m.addLayer({
      id: 'tour-route-way', type: 'line', source: ROUTE_SOURCE, filter: ['==', ['get', 'part'], 'way'],
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': '#8b2f23', 'line-width': 3 * r, 'line-opacity': 0.55, 'line-dasharray': [1.5, 1.5] },
    }, before);
    m.addLayer({
      id: 'tour-route-done', type: 'line', source: ROUTE_SOURCE, filter: ['==', ['get', 'part'], 'done'],
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': '#8b2f23', 'line-width': 5 * r },
    }, before);
    m.addLayer({
      id: 'tour-route-head', type: 'circle', source: ROUTE_SOURCE, filter: ['==', ['get', 'part'], 'head'],
      paint: { 'circle-color': '#8b2f23', 'circle-radius': 9 * r, 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 3, 'circle-pitch-alignment': 'viewport' },
    }, before);
  }

  // stopRoute ends a journey under way; with clear it also takes the
  // route off the map.
  stopRoute(clear) {
    cancelAnimationFrame(this.routeAnim);
    this.routeAnim = 0;
    clearTimeout(this.next);
    const m = this.o.map;
    if (clear && m.getSource(ROUTE_SOURCE)) {
      for (const l of ROUTE_LAYERS) if (m.getLayer(l)) m.removeLayer(l);
      m.removeSource(ROUTE_SOURCE);
    }
  }

  render() {
    const v = this.views[this.i];
    if (v) renderCard(v, this.i, this.views.length, this.o.kiosk);
  }

  relabel() {
    this.btn.setAttribute('aria-pressed', String(this.on));
    const s = this.btn.querySelector('[data-i18n]');
    s.dataset.i18n = this.on ? 'tour.stop' : 'tour.start';
    s.textContent = t(s.dataset.i18n);
    this.btn.querySelector('.ico').textContent = this.on ? '■' : '▶';
    if (this.on) this.render();
  }
}

// layoutCard puts the card at the side of a landscape screen and at the
// bottom of a portrait one.
export function layoutCard() {
  const side = window.innerWidth >= window.innerHeight * 1.05;
  document.body.classList.toggle('tour-side', side);
  document.body.classList.toggle('tour-bottom', !side);
}

// renderCard writes view v (number i of n) on the tour's card.
export function renderCard(v, i, n, kiosk) {
  document.getElementById('tour-step').textContent = t('tour.step', { n: i + 1, count: n });
  document.getElementById('tour-title').textContent = pick(v.title);
  const text = pick(v.text);
  document.getElementById('tour-text').textContent = text || (kiosk ? t('tour.touchHint') : '');
}

// along returns the part of path from its start to fraction k of its
// length (in degrees scaled for latitude: enough for a town).
export function along(path, k) {
  const cos = Math.cos((path[0][1] * Math.PI) / 180);
  const seg = [];
  let total = 0;
  for (let i = 1; i < path.length; i++) {
    const d = Math.hypot((path[i][0] - path[i - 1][0]) * cos, path[i][1] - path[i - 1][1]);
    seg.push(d);
    total += d;
  }
  let left = Math.max(0, Math.min(1, k)) * total;
  const out = [path[0]];
  for (let i = 1; i < path.length; i++) {
    if (left >= seg[i - 1]) {
      out.push(path[i]);
      left -= seg[i - 1];
      continue;
    }
    const f = seg[i - 1] > 0 ? left / seg[i - 1] : 0;
    out.push([path[i - 1][0] + (path[i][0] - path[i - 1][0]) * f, path[i - 1][1] + (path[i][1] - path[i - 1][1]) * f]);
    break;
  }
  return out;
}
