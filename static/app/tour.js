// The guided tour through the scene's views, and the kiosk's idle
// behaviour: after `idle` seconds without a touch the view resets and the
// tour plays again; a touch hands the map to the visitor.

import { t, pick } from './i18n.js';

export class Tour {
  // opts: {map, views, home, kiosk, idleSeconds, setYear, animateYear, getYear, onReset}
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
    if (opts.kiosk) {
      this.idleTimer = setInterval(() => this.checkIdle(), 500);
    }
  }

  checkIdle() {
    if (this.on) return;
    if (performance.now() - this.lastActivity >= this.o.idleSeconds * 1000) this.reset(true);
  }

  playing() {
    return this.on;
  }

  index() {
    return this.i;
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
      this.o.map.jumpTo({ center: h.center, zoom: h.zoom, pitch: h.pitch, bearing: h.bearing });
      this.start(0);
    } else {
      this.o.map.flyTo({ center: h.center, zoom: h.zoom, pitch: h.pitch, bearing: h.bearing, essential: true, duration: 1500 });
    }
  }

  start(i = 0) {
    this.on = true;
    this.card.hidden = false;
    document.body.classList.add('touring');
    this.relabel();
    this.go(i);
  }

  stop() {
    if (!this.on) return;
    this.on = false;
    clearTimeout(this.timer);
    this.card.hidden = true;
    document.body.classList.remove('touring');
    this.lastActivity = performance.now();
    this.relabel();
  }

  go(i) {
    if (!this.on) return;
    const n = this.views.length;
    this.i = ((i % n) + n) % n;
    const v = this.views[this.i];
    clearTimeout(this.timer);
    this.render();
    const m = this.o.map;
    const duration = this.o.kiosk ? 5000 : 4000;
    m.flyTo({
      center: v.center, zoom: v.zoom, pitch: v.pitch ?? m.getPitch(), bearing: v.bearing ?? m.getBearing(),
      duration, essential: true, curve: 1.3,
    });
    if (v.year) this.o.animateYear(v.year, duration * 0.8);
    const dwell = this.o.kiosk ? 14000 : 11000;
    this.timer = setTimeout(() => this.go(this.i + 1), duration + dwell);
  }

  render() {
    const v = this.views[this.i];
    if (!v) return;
    document.getElementById('tour-step').textContent = t('tour.step', { n: this.i + 1, count: this.views.length });
    document.getElementById('tour-title').textContent = pick(v.title);
    const text = pick(v.text);
    document.getElementById('tour-text').textContent = text || (this.o.kiosk ? t('tour.touchHint') : '');
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
