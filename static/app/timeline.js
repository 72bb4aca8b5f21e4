// The timeline: a slider from the scene's start to its end, play/pause, and
// the events of the story marked on the track. Events that would overlap
// are grouped into one mark that opens a short list.

import { t, pick, date, year as fmtYear } from './i18n.js';

export class Timeline {
  // opts: {start, end, now, events, kiosk, onYear(y, source), onEvent(ev)}
  constructor(opts) {
    this.o = opts;
    this.slider = document.getElementById('timeline-slider');
    this.label = document.getElementById('year-label');
    this.playBtn = document.getElementById('btn-play');
    this.eventsEl = document.getElementById('events');
    this.tip = document.getElementById('event-tip');
    this.timer = 0;
    this.value = opts.now;

    this.slider.min = String(Math.floor(opts.start));
    this.slider.max = String(Math.ceil(opts.end));
    document.getElementById('tl-start').textContent = fmtYear(opts.start);
    document.getElementById('tl-end').textContent = fmtYear(opts.end);
    const nowMark = document.getElementById('tl-now-mark');
    nowMark.style.left = `${this.pct(opts.now)}%`;

    this.slider.addEventListener('input', () => {
      this.pause();
      this.o.onYear(Number(this.slider.value), 'slider');
    });
    this.playBtn.addEventListener('click', () => (this.timer ? this.pause() : this.play()));
    window.addEventListener('resize', () => this.renderEvents());
    document.addEventListener('pointerdown', (e) => {
      if (!this.tip.hidden && !this.tip.contains(e.target) && !this.eventsEl.contains(e.target)) this.closeTip();
    });
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && !this.tip.hidden) this.closeTip(true);
    });
    this.renderEvents();
  }

  pct(y) {
    const { start, end } = this.o;
    return Math.max(0, Math.min(100, ((y - start) / (end - start)) * 100));
  }

  // show puts y on the slider and the label (called by the viewer's setYear).
  show(y) {
    this.value = y;
    this.slider.value = String(Math.round(y));
    this.label.textContent = fmtYear(y);
    this.slider.setAttribute('aria-valuetext', fmtYear(y));
  }

  playing() {
    return this.timer !== 0;
  }

  play() {
    if (this.timer) return;
    const { start, end } = this.o;
    if (this.value >= end - 0.01) this.o.onYear(start, 'play');
    const step = Math.max(0.25, (end - start) / 160); // the whole span in about 16 s
    this.timer = setInterval(() => {
      const next = Math.min(end, Math.floor(this.value / step + 1e-6) * step + step);
      this.o.onYear(next, 'play');
      if (next >= end) this.pause();
    }, 100);
    this.relabel();
  }

  pause() {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = 0;
    this.relabel();
  }

  relabel() {
    const on = this.playing();
    this.playBtn.setAttribute('aria-pressed', String(on));
    this.playBtn.querySelector('.ico').textContent = on ? '❚❚' : '▶';
    const txt = this.playBtn.querySelector('[data-i18n]');
    txt.dataset.i18n = on ? 'timeline.pause' : 'timeline.play';
    txt.textContent = t(txt.dataset.i18n);
    document.getElementById('tl-start').textContent = fmtYear(this.o.start);
    this.renderEvents();
  }

  // renderEvents lays the marks out on the track, grouping those closer
  // than a touch target.
  renderEvents() {
    const evs = [...(this.o.events || [])].filter((e) => e.year >= this.o.start && e.year <= this.o.end)
      .sort((a, b) => a.year - b.year);
    const width = this.eventsEl.clientWidth || 600;
    const minGap = this.o.kiosk ? 56 : 18;
    const groups = [];
    for (const ev of evs) {
      const x = (this.pct(ev.year) / 100) * width;
      const g = groups[groups.length - 1];
      if (g && x - g.x0 < minGap) {
        g.events.push(ev);
        g.x1 = x;
      } else {
        groups.push({ x0: x, x1: x, events: [ev] });
      }
    }
    this.eventsEl.replaceChildren();
    for (const g of groups) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'event-mark' + (g.events.length > 1 ? ' event-group' : '');
      b.setAttribute('role', 'listitem');
      b.style.left = `${((g.x0 + g.x1) / 2 / width) * 100}%`;
      const label = g.events.map((e) => t('timeline.event', { date: date(e.date || e.year), title: pick(e.title) })).join(' · ');
      b.setAttribute('aria-label', label);
      b.title = label;
      if (g.events.length > 1) {
        b.textContent = String(g.events.length);
        b.setAttribute('aria-haspopup', 'true');
        b.addEventListener('click', () => this.openTip(b, g.events));
      } else {
        b.addEventListener('click', () => {
          this.closeTip();
          this.o.onEvent(g.events[0]);
        });
      }
      this.eventsEl.append(b);
    }
  }

  openTip(anchor, events) {
    this.tip.replaceChildren();
    const list = document.createElement('ul');
    for (const ev of events) {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'btn event-item';
      const d = document.createElement('span');
      d.className = 'event-date';
      d.textContent = date(ev.date || ev.year);
      const tt = document.createElement('span');
      tt.textContent = pick(ev.title);
      b.append(d, tt);
      b.addEventListener('click', () => {
        this.closeTip();
        this.o.onEvent(ev);
      });
      li.append(b);
      list.append(li);
    }
    this.tip.append(list);
    this.tip.hidden = false;
    const r = anchor.getBoundingClientRect();
    const w = this.tip.offsetWidth;
    this.tip.style.left = `${Math.max(8, Math.min(window.innerWidth - w - 8, r.left + r.width / 2 - w / 2))}px`;
    this.tip.style.bottom = `${window.innerHeight - r.top + 8}px`;
    this.tipAnchor = anchor;
    list.querySelector('button')?.focus();
  }

  closeTip(refocus) {
    if (this.tip.hidden) return;
    this.tip.hidden = true;
    if (refocus) this.tipAnchor?.focus();
  }
}
