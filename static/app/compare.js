// Compare two years over one view: a second map with the same style and
// its own year lies exactly over the first, and a divider that the visitor
// drags shows the first year to its left and the second to its right. Both
// maps are the whole screen, so both show the same place whole (two halves
// side by side would cut every centre in two); their cameras move
// together, whichever is touched.

import { t, year as fmtYear } from './i18n.js';

export class Compare {
  // opts: {map, maplibre, style, start, end, kiosk, getYear, setYear, onOpen(), onMapB(map), mapOptions}
  constructor(opts) {
    this.o = opts;
    this.on = false;
    this.mapB = null;
    this.yearB = opts.end;
    this.split = 0.5; // where the divider stands, as a share of the width
    this.btn = document.getElementById('btn-compare');
    this.el = document.getElementById('map-b');
    this.bar = document.getElementById('compare-b');
    this.slider = document.getElementById('compare-slider');
    this.label = document.getElementById('compare-year-label');
    this.labels = document.getElementById('compare-labels');
    this.divider = document.getElementById('compare-divider');
    this.slider.min = String(Math.floor(opts.start));
    this.slider.max = String(Math.ceil(opts.end));
    this.btn.addEventListener('click', () => (this.on ? this.close() : this.open()));
    this.slider.addEventListener('input', () => this.setYearB(Number(this.slider.value)));
    this.dragging();
    window.addEventListener('resize', () => this.place());
  }

  isOn() {
    return this.on;
  }

  // dragging lets the divider be moved by finger, mouse or keyboard.
  dragging() {
    const d = this.divider;
    let id = null;
    const move = (e) => {
      if (e.pointerId !== id) return;
      const r = d.parentElement.getBoundingClientRect();
      this.setSplit((e.clientX - r.left) / r.width);
    };
    d.addEventListener('pointerdown', (e) => {
      id = e.pointerId;
      d.setPointerCapture(id);
      d.classList.add('dragging');
      e.preventDefault();
    });
    d.addEventListener('pointermove', move);
    const end = (e) => {
      if (e.pointerId !== id) return;
      id = null;
      d.classList.remove('dragging');
    };
    d.addEventListener('pointerup', end);
    d.addEventListener('pointercancel', end);
    d.addEventListener('keydown', (e) => {
      const step = e.shiftKey ? 0.1 : 0.02;
      if (e.key === 'ArrowLeft') this.setSplit(this.split - step);
      else if (e.key === 'ArrowRight') this.setSplit(this.split + step);
      else if (e.key === 'Home') this.setSplit(0.05);
      else if (e.key === 'End') this.setSplit(0.95);
      else return;
      e.preventDefault();
    });
  }

  // setSplit puts the divider at share k of the width (kept off the edges).
  setSplit(k) {
    this.split = Math.max(0.05, Math.min(0.95, k));
    this.place();
  }

  // place shows the second map right of the divider.
  place() {
    const pct = `${(this.split * 100).toFixed(2)}%`;
    this.el.style.clipPath = `inset(0 0 0 ${pct})`;
    this.divider.style.left = pct;
    this.divider.setAttribute('aria-valuenow', String(Math.round(this.split * 100)));
    this.labels.style.setProperty('--split', pct);
  }

  // open shows the second map; years default to a before and an after.
  open(a, b) {
    if (this.on) return;
    this.on = true;
    this.o.onOpen?.();
    document.body.classList.add('comparing');
    this.el.hidden = false;
    this.bar.hidden = false;
    this.labels.hidden = false;
    this.divider.hidden = false;
    this.split = 0.5;
    this.place();
    const m = this.o.map;
    if (a !== undefined) this.o.setYear(a);
    if (b !== undefined) this.yearB = b;
    if (!this.mapB) {
      this.mapB = new this.o.maplibre.Map({
        ...this.o.mapOptions,
        container: this.el,
        style: structuredClone(this.o.style),
        center: m.getCenter(), zoom: m.getZoom(), pitch: m.getPitch(), bearing: m.getBearing(),
        attributionControl: false,
      });
      this.mapB.setPadding(m.getPadding());
      this.mapB.addControl(new this.o.maplibre.NavigationControl({ visualizePitch: true }), 'top-right');
      this.mapB.on('load', () => {
        this.o.onMapB(this.mapB);
        this.mapB.setGlobalStateProperty('year', this.yearB);
      });
      this.mapB.on('error', (e) => console.warn('comparison map:', e.error?.message || e));
      this.sync(m, this.mapB);
      this.sync(this.mapB, m);
    }
    this.setYearB(this.yearB);
    requestAnimationFrame(() => {
      this.mapB.resize();
      this.follow(m, this.mapB);
    });
    this.relabel();
  }

  close() {
    if (!this.on) return;
    this.on = false;
    document.body.classList.remove('comparing');
    this.el.hidden = true;
    this.bar.hidden = true;
    this.labels.hidden = true;
    this.divider.hidden = true;
    this.relabel();
  }

  // follow puts to's camera where from's is.
  follow(from, to) {
    to.jumpTo({ center: from.getCenter(), zoom: from.getZoom(), pitch: from.getPitch(), bearing: from.getBearing(), padding: from.getPadding() });
  }

  // sync makes `to` follow `from`'s camera while `from` moves.
  sync(from, to) {
    from.on('move', () => {
      if (this.syncing || !this.on) return;
      this.syncing = true;
      this.follow(from, to);
      this.syncing = false;
    });
  }

  setYearB(y) {
    this.yearB = Math.max(this.o.start, Math.min(this.o.end, y));
    this.slider.value = String(Math.round(this.yearB));
    this.label.textContent = fmtYear(this.yearB);
    this.slider.setAttribute('aria-valuetext', fmtYear(this.yearB));
    if (this.mapB && this.mapBReady) this.mapB.setGlobalStateProperty('year', this.yearB);
    this.relabel();
  }

  relabel() {
    this.btn.setAttribute('aria-pressed', String(this.on));
    const s = this.btn.querySelector('[data-i18n]');
    s.dataset.i18n = this.on ? 'compare.close' : 'compare.button';
    s.textContent = t(s.dataset.i18n);
    this.divider.setAttribute('aria-label', t('compare.divider'));
    document.getElementById('compare-label-a').textContent = t('compare.pane', { year: fmtYear(this.o.getYear()) });
    document.getElementById('compare-label-b').textContent = t('compare.pane', { year: fmtYear(this.yearB) });
  }
}
