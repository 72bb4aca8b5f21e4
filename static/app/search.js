// Search by name across buildings, landmarks and sensors. The names are
// fetched once, on first use, from the collections API and /api/sensors,
// and matched in the browser without regard to case or accents.

import { t, date } from './i18n.js';
import { fetchJSON } from './net.js';
import { centreOf, toYear } from './story.js';

// fold lowers a string and strips accents, so "kyrka" finds "Kyrka" and
// "malmvagen" finds "Malmvägen".
export function fold(s) {
  return String(s || '').normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

// fetchAll follows the collection's next links (at most `pages` pages).
async function fetchAll(url, pages = 20) {
  const out = [];
  for (let i = 0; url && i < pages; i++) {
    const fc = await fetchJSON(url);
    out.push(...(fc.features || []));
    const next = (fc.links || []).find((l) => l.rel === 'next');
    url = next ? next.href : '';
  }
  return out;
}

export class Search {
  // opts: {onPick(entry)}
  constructor(opts) {
    this.o = opts;
    this.input = document.getElementById('search-input');
    this.list = document.getElementById('search-results');
    this.entries = null;
    this.loading = null;
    this.active = -1;
    this.input.addEventListener('focus', () => this.load());
    this.input.addEventListener('input', () => this.update());
    this.input.addEventListener('keydown', (e) => this.key(e));
    document.addEventListener('pointerdown', (e) => {
      if (!this.list.contains(e.target) && e.target !== this.input) this.hide();
    });
  }

  load() {
    if (!this.loading) {
      this.loading = this.fetchEntries().then((e) => {
        this.entries = e;
        this.update();
      }, () => {
        this.loading = null; // try again on the next focus
      });
    }
    return this.loading;
  }

  async fetchEntries() {
    const named = (layer) => (f) => {
      const p = f.properties || {};
      if (!p.name) return null;
      return { layer, id: String(f.id ?? p.id), name: p.name, kind: p.kind || '', from: toYear(p.from), to: toYear(p.to), centre: centreOf(f.geometry), key: fold(p.name) };
    };
    const parts = await Promise.allSettled([
      fetchAll('/collections/landmarks/items?limit=1000').then((fs) => fs.map(named('landmarks'))),
      fetchAll('/collections/buildings/items?limit=1000').then((fs) => fs.map(named('buildings'))),
      fetchJSON('/api/sensors').then((r) => (Array.isArray(r) ? r : r.sensors || []).map((s) => ({
        layer: 'sensors', id: s.id, name: s.name || s.id, kind: s.type || '', centre: [s.lon, s.lat], key: fold(`${s.name || ''} ${s.id}`),
      }))),
    ]);
    const all = parts.flatMap((p) => (p.status === 'fulfilled' ? p.value : [])).filter(Boolean);
    if (parts.every((p) => p.status === 'rejected')) throw new Error('search: nothing to search yet');
    return all.filter((e) => e.centre);
  }

  // find returns up to n entries whose name matches q: names that start
  // with it first, then words that do, then any match.
  find(q, n = 8) {
    const k = fold(q).trim();
    if (!k || !this.entries) return [];
    const scored = [];
    for (const e of this.entries) {
      const i = e.key.indexOf(k);
      if (i < 0) continue;
      const score = i === 0 ? 0 : /[\s,(–-]/.test(e.key[i - 1]) ? 1 : 2;
      scored.push([score, e.layer === 'landmarks' ? 0 : 1, e.name.length, e]);
    }
    scored.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
    const seen = new Set();
    const out = [];
    for (const s of scored) {
      const dedupe = `${s[3].layer}:${s[3].name}:${s[3].from}`;
      if (seen.has(dedupe)) continue;
      seen.add(dedupe);
      out.push(s[3]);
      if (out.length >= n) break;
    }
    return out;
  }

  update() {
    const q = this.input.value;
    if (!q.trim()) return this.hide();
    this.list.replaceChildren();
    this.results = this.find(q);
    this.active = -1;
    if (!this.entries) {
      this.list.append(this.item(t('search.loading'), '', null));
    } else if (!this.results.length) {
      this.list.append(this.item(t('search.none'), '', null));
    } else {
      this.results.forEach((e, i) => {
        const meta = [t(`layer.${e.layer}`)];
        if (e.from !== undefined) meta.push(date(e.from));
        this.list.append(this.item(e.name, meta.join(' · '), e, i));
      });
    }
    this.list.hidden = false;
    this.input.setAttribute('aria-expanded', 'true');
  }

  item(text, meta, entry, i) {
    const li = document.createElement('li');
    li.setAttribute('role', 'option');
    li.id = `search-opt-${i ?? 'x'}`;
    li.className = entry ? 'result' : 'result empty';
    const a = document.createElement('span');
    a.className = 'result-name';
    a.textContent = text;
    li.append(a);
    if (meta) {
      const m = document.createElement('span');
      m.className = 'result-meta';
      m.textContent = meta;
      li.append(m);
    }
    if (entry) {
      li.addEventListener('click', () => this.pick(entry));
    }
    return li;
  }

  key(e) {
    const n = this.results?.length || 0;
    if (e.key === 'ArrowDown' && n) {
      this.setActive((this.active + 1) % n);
      e.preventDefault();
    } else if (e.key === 'ArrowUp' && n) {
      this.setActive((this.active - 1 + n) % n);
      e.preventDefault();
    } else if (e.key === 'Enter' && n) {
      this.pick(this.results[Math.max(0, this.active)]);
      e.preventDefault();
    } else if (e.key === 'Escape') {
      this.input.value = '';
      this.hide();
    }
  }

  setActive(i) {
    this.active = i;
    const opts = this.list.querySelectorAll('[role=option]');
    opts.forEach((o, j) => o.setAttribute('aria-selected', String(j === i)));
    this.input.setAttribute('aria-activedescendant', opts[i]?.id || '');
  }

  pick(entry) {
    this.hide();
    this.input.value = entry.name;
    this.o.onPick(entry);
  }

  hide() {
    this.list.hidden = true;
    this.input.setAttribute('aria-expanded', 'false');
    this.input.removeAttribute('aria-activedescendant');
  }

  relabel() {
    if (!this.list.hidden) this.update();
  }
}
