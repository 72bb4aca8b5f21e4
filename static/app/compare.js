// Compare two years side by side: a second map with the same style, its
// own year, and a camera that follows the first (and leads it when moved).

import { t, year as fmtYear } from './i18n.js';

export class Compare {
  // opts: {map, maplibre, style, start, end, kiosk, getYear, setYear, onMapB(map), mapOptions}
  constructor(opts) {
    this.o = opts;
    this.on = false;
    this.mapB = null;
    this.yearB = opts.end;
    this.btn = document.getElementById('btn-compare');
    this.el = document.getElementById('map-b');
    this.bar = document.getElementById('compare-b');
    this.slider = document.getElementById('compare-slider');
    this.label = document.getElementById('compare-year-label');
    this.labels = document.getElementById('compare-labels');
    this.slider.min = String(Math.floor(opts.start));
    this.slider.max = String(Math.ceil(opts.end));
    this.btn.addEventListener('click', () => (this.on ? this.close() : this.open()));
    this.slider.addEventListener('input', () => this.setYearB(Number(this.slider.value)));
  }

  isOn() {
    return this.on;
  }

  // open shows the second map; years default to a before and an after.
  open(a, b) {
    if (this.on) return;
    this.on = true;
    document.body.classList.add('comparing');
    this.el.hidden = false;
    this.bar.hidden = false;
    this.labels.hidden = false;
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
      m.resize();
      this.mapB.resize();
      this.mapB.jumpTo({ center: m.getCenter(), zoom: m.getZoom(), pitch: m.getPitch(), bearing: m.getBearing() });
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
    requestAnimationFrame(() => this.o.map.resize());
    this.relabel();
  }

  // sync makes `to` follow `from`'s camera while `from` moves.
  sync(from, to) {
    from.on('move', () => {
      if (this.syncing || !this.on) return;
      this.syncing = true;
      to.jumpTo({ center: from.getCenter(), zoom: from.getZoom(), pitch: from.getPitch(), bearing: from.getBearing() });
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
    document.getElementById('compare-label-a').textContent = t('compare.pane', { year: fmtYear(this.o.getYear()) });
    document.getElementById('compare-label-b').textContent = t('compare.pane', { year: fmtYear(this.yearB) });
  }
}
