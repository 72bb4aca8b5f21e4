// The timeline: a slider from the scene's start to its end, play/pause, and
// the events of the story marked on the track, each labelled with its year.
// Marks whose labels would touch are grouped into one mark labelled with
// the span of years, which opens a short list; the grouping is made again
// whenever the track's width changes (a resized window, the comparison
// opening beside it).

import { t, pick, date, year as fmtYear } from './i18n.js';

export class Timeline {
  // opts: {start, end, now, events, kiosk, onYear(y, source), onEvent(ev), onPlay()}
  constructor(opts) {
    this.o = opts;
    this.slider = document.getElementById('timeline-slider');
    this.label = document.getElementById('year-label');
    this.playBtn = document.getElementById('btn-play');
    this.eventsEl = document.getElementById('events');
    this.tip = document.getElementById('event-tip');
    this.timer = 0;
    this.value = opts.now;
    // picked: the visitor chose the year (slider, event, search); "Spela"
    // then plays from there, else the whole history from the start.
    this.picked = false;

    this.slider.min = String(Math.floor(opts.start));
    this.slider.max = String(Math.ceil(opts.end));
    document.getElementById('tl-start').textContent = fmtYear(opts.start);
    document.getElementById('tl-end').textContent = fmtYear(opts.end);
    const nowMark = document.getElementById('tl-now-mark');
    nowMark.style.left = `${this.pct(opts.now)}%`;

    this.slider.addEventListener('input', () => {
      this.pause();
      this.picked = true;
      this.o.onYear(Number(this.slider.value), 'slider');
    });
    this.playBtn.addEventListener('click', () => (this.timer ? this.pause() : this.play()));
    // The marks are laid out again whenever the track's width changes.
    let width = 0;
    const relayout = () => {
      const w = this.eventsEl.clientWidth;
      if (w && w !== width) {
        width = w;
        this.renderEvents();
      }
    };
    if (window.ResizeObserver) new ResizeObserver(() => requestAnimationFrame(relayout)).observe(this.eventsEl);
    window.addEventListener('resize', relayout);
    // The labels' widths change once the page's font has loaded.
    document.fonts?.addEventListener?.('loadingdone', () => this.renderEvents());
    document.fonts?.ready?.then(() => this.renderEvents());
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

  // rest forgets the visitor's year: the next "Spela" plays the history.
  rest() {
    this.picked = false;
  }

  // play runs the years forward: from where the visitor put the slider, or
  // from the start when the year is not one they chose (the opening, the
  // tour's) or the end is reached.
  play() {
    if (this.timer) return;
    this.o.onPlay?.();
    const { start, end } = this.o;
    if (this.value >= end - 0.01 || !this.picked) this.o.onYear(start, 'play');
    this.picked = true;
    const step = Math.max(0.25, (end - start) / 160); // the whole span in about 16 s
    this.timer = setInterval(() => {
      const next = Math.min(end, Math.floor(this.value / step + 1e-6) * step + step);
      this.o.onYear(next, 'play');
      if (next >= end) {
        this.pause();
        this.picked = false;
      }
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

  // renderEvents lays the marks out on the track, each labelled with its
  // year. Labels that would touch are moved apart along the track (a thin
  // stem leads from each to its year); where that would carry a label too
  // far from its year, the closest neighbours are grouped into one mark
  // labelled with the span of their years.
  renderEvents() {
    const { start, end } = this.o;
    const evs = [...(this.o.events || [])].filter((e) => e.year <= end).sort((a, b) => a.year - b.year);
    const width = this.eventsEl.clientWidth;
    this.eventsEl.replaceChildren();
    if (!width || !evs.length) return;
    // An event before the timeline's start sits at its start, with its own year.
    const xOf = (e) => (this.pct(Math.max(start, e.year)) / 100) * width;
    const measure = this.measurer();
    const gap = this.o.kiosk ? 8 : 4;
    const maxShift = this.o.kiosk ? 110 : 70;
    let groups = evs.map((e) => ({ events: [e], x0: xOf(e), x1: xOf(e) }));
    let placed;
    for (;;) {
      placed = layout(groups.map((g) => ({ x: (g.x0 + g.x1) / 2, w: measure(groupLabel(g.events)) })), width, gap);
      const worst = placed ? Math.max(...placed.map((p) => Math.abs(p.c - p.x))) : Infinity;
      if ((placed && worst <= maxShift) || groups.length === 1) break;
      // Group the two marks closest in time, and lay out again.
      let k = 0;
      for (let i = 1; i < groups.length - 1; i++) {
        if (groups[i + 1].x0 - groups[i].x1 < groups[k + 1].x0 - groups[k].x1) k = i;
      }
      const a = groups[k], b = groups[k + 1];
      groups.splice(k, 2, { events: [...a.events, ...b.events], x0: a.x0, x1: b.x1 });
    }
    measure.done();
    if (!placed) placed = groups.map((g) => ({ x: (g.x0 + g.x1) / 2, c: (g.x0 + g.x1) / 2 }));
    this.groups = groups;
    // The stems, from each label down to its year on the track.
    const NS = 'http://www.w3.org/2000/svg';
    const stems = document.createElementNS(NS, 'svg');
    stems.setAttribute('class', 'event-stems');
    stems.setAttribute('aria-hidden', 'true');
    this.eventsEl.append(stems);
    const h = this.eventsEl.clientHeight;
    groups.forEach((g, gi) => {
      const p = placed[gi];
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'event-mark' + (g.events.length > 1 ? ' event-group' : '');
      b.setAttribute('role', 'listitem');
      b.style.left = `${(p.c / width) * 100}%`;
      b.dataset.events = String(g.events.length);
      const years = groupLabel(g.events);
      const label = g.events.map((e) => t('timeline.event', { date: date(e.date || e.year), title: pick(e.title) })).join(' · ');
      b.setAttribute('aria-label', g.events.length > 1 ? t('timeline.group', { n: g.events.length, years, events: label }) : label);
      if (!this.o.kiosk) b.title = label;
      const text = document.createElement('span');
      text.className = 'event-label';
      text.textContent = years;
      b.append(text);
      if (g.events.length > 1) {
        b.setAttribute('aria-haspopup', 'true');
        b.addEventListener('click', () => this.openTip(b, g.events));
      } else {
        b.addEventListener('click', () => {
          this.closeTip();
          this.o.onEvent(g.events[0]);
        });
      }
      this.eventsEl.append(b);
      const top = b.offsetTop + b.offsetHeight;
      const line = document.createElementNS(NS, 'path');
      const x0 = g.x0, x1 = g.x1;
      // A group's stem ends in a bracket over its span of years.
      line.setAttribute('d', x1 - x0 > 3
        ? `M${p.c},${top} L${(x0 + x1) / 2},${h - 4} M${x0},${h} L${x0},${h - 4} L${x1},${h - 4} L${x1},${h}`
        : `M${p.c},${top} L${p.x},${h}`);
      stems.append(line);
    });
  }

  // measurer returns a function giving the width in pixels of a mark with
  // a label, as the page lays it out (its font, padding and minimum).
  measurer() {
    const probe = document.createElement('button');
    probe.className = 'event-mark';
    probe.style.visibility = 'hidden';
    probe.style.left = '0';
    const span = document.createElement('span');
    span.className = 'event-label';
    probe.append(span);
    this.eventsEl.append(probe);
    const cache = new Map();
    const measure = (label) => {
      if (!cache.has(label)) {
        span.textContent = label;
        cache.set(label, Math.ceil(probe.getBoundingClientRect().width) + 1);
      }
      return cache.get(label);
    };
    measure.done = () => probe.remove();
    return measure;
  }

  // labels lists the marks' labels as shown (for the tests).
  labels() {
    return [...this.eventsEl.querySelectorAll('.event-mark')].map((b) => b.textContent);
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

// groupLabel is a mark's label: its year, or the span of its years.
function groupLabel(events) {
  const y0 = yearOf(events[0]), y1 = yearOf(events[events.length - 1]);
  return y0 === y1 ? y0 : `${y0}–${y1}`;
}

function yearOf(e) {
  const m = /^(\d{4})/.exec(e.date || '');
  return m ? m[1] : fmtYear(e.year);
}

// layout places labels of widths w at ideal centres x (ascending) on a line
// of the given width without overlap: pushed right past their left
// neighbours, then back left from the end. It returns [{x, w, c}] with c
// the centre given, or null when they cannot fit at all.
export function layout(items, width, gap) {
  const total = items.reduce((s, it) => s + it.w, 0) + gap * (items.length - 1);
  if (total > width) return null;
  const l = [];
  items.forEach((it, i) => {
    l[i] = Math.max(it.x - it.w / 2, i ? l[i - 1] + items[i - 1].w + gap : 0);
  });
  for (let i = items.length - 1; i >= 0; i--) {
    const limit = i === items.length - 1 ? width : l[i + 1] - gap;
    if (l[i] + items[i].w > limit) l[i] = limit - items[i].w;
  }
  // Pull each back towards its ideal place where the neighbours leave room.
  for (let pass = 0; pass < 4; pass++) {
    for (let i = 0; i < items.length; i++) {
      const lo = i ? l[i - 1] + items[i - 1].w + gap : 0;
      const hi = (i < items.length - 1 ? l[i + 1] - gap : width) - items[i].w;
      l[i] = Math.max(lo, Math.min(hi, items[i].x - items[i].w / 2));
    }
  }
  return items.map((it, i) => ({ x: it.x, w: it.w, c: l[i] + it.w / 2 }));
}
