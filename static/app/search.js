// Search by name across buildings, places, infrastructure and sensors.
// The names are fetched once, on first use, from the collections API (in
// large gzipped pages) and /api/sensors, and matched in the browser without
// regard to case or accents. A building carried whole from one site to
// another is one entry with both sites.

import { t, date, getLang } from './i18n.js';
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
      const names = [p.name, p.name_en].filter(Boolean);
      return {
        layer, id: String(f.id ?? p.id), name: p.name, nameEn: p.name_en || '', kind: p.kind || '', lineage: p.lineage || '',
        from: toYear(p.from), to: toYear(p.to), fromText: p.from, centre: centreOf(f.geometry), key: fold(names.join(' ')),
      };
    };
    const parts = await Promise.allSettled([
      fetchAll('/collections/landmarks/items?limit=5000').then((fs) => fs.map(named('landmarks'))),
      fetchAll('/collections/buildings/items?limit=5000').then((fs) => fs.map(named('buildings'))),
      fetchAll('/collections/infrastructure/items?limit=5000').then((fs) => fs.map(named('infrastructure'))),
      fetchJSON('/api/sensors').then((r) => (Array.isArray(r) ? r : r.sensors || []).map((s) => ({
        layer: 'sensors', id: s.id, name: s.name || s.id, kind: s.type || '', centre: [s.lon, s.lat], key: fold(`${s.name || ''} ${s.id}`),
      }))),
    ]);
    const all = parts.flatMap((p) => (p.status === 'fulfilled' ? p.value : [])).filter((e) => e && e.centre);
    if (parts.every((p) => p.status === 'rejected')) throw new Error('search: nothing to search yet');
    return lineages(all);
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
      const dedupe = `${s[3].layer}:${s[3].name}:${s[3].sites ? '' : s[3].from}`;
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
        if (e.sites && e.sites.length > 1) {
          meta.push(t('search.sites', { n: e.sites.length }));
          meta.push(e.sites.map((s) => dateOf(s)).join(' → '));
        } else if (e.from !== undefined) meta.push(dateOf(e));
        const name = (getLang() === 'en' && e.nameEn) || e.name;
        this.list.append(this.item(name, meta.join(' · '), e, i));
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

// dateOf writes an entry's start as its data has it (a month stays a
// month; no round trip through a decimal year, which can fall on the day
// before).
function dateOf(e) {
  return date(typeof e.fromText === 'string' && /^\d{4}/.test(e.fromText) ? e.fromText : e.from);
}

// lineages folds the sites of a building carried whole into one entry: the
// first site's name, every site oldest first, centred on the newest.
export function lineages(entries) {
  const byLineage = new Map();
  const out = [];
  for (const e of entries) {
    if (!e.lineage) {
      out.push(e);
      continue;
    }
    const k = `${e.layer}:${e.lineage}`;
    let g = byLineage.get(k);
    if (!g) {
      g = { ...e, sites: [] };
      byLineage.set(k, g);
      out.push(g);
    }
    g.sites.push(e);
  }
  for (const g of byLineage.values()) {
    g.sites.sort((a, b) => (a.from ?? 0) - (b.from ?? 0));
    const last = g.sites[g.sites.length - 1];
    Object.assign(g, { id: last.id, centre: last.centre, from: g.sites[0].from, fromText: g.sites[0].fromText, to: last.to });
  }
  return out;
}
