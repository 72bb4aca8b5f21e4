// Fetching with patience: the viewer never shows an error page. A request
// that fails is retried with backoff while the last good state stays on
// screen and a quiet line says what is going on.

import { t } from './i18n.js';

// HTTPError carries the status of a failed answer.
export class HTTPError extends Error {
  constructor(status, message) {
    super(message || `HTTP ${status}`);
    this.status = status;
  }
}

// fetchJSON fetches url and parses JSON; a non-2xx answer throws HTTPError
// with the server's {"error": …} message when there is one.
export async function fetchJSON(url, { signal } = {}) {
  const res = await fetch(url, { signal, headers: { Accept: 'application/json' } });
  if (!res.ok) {
    let msg = '';
    try {
      msg = (await res.json()).error || '';
    } catch {
      // not JSON: keep the status alone
    }
    throw new HTTPError(res.status, msg);
  }
  return res.json();
}

// backoff returns the wait before retry number n (0-based): 0.5 s doubling
// to at most max ms, with ±25 % jitter so that many kiosks do not retry in
// step after a server restart.
export function backoff(n, max = 15000) {
  const base = Math.min(max, 500 * 2 ** Math.min(n, 10));
  return base * (0.75 + Math.random() * 0.5);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// retrying runs fn until it succeeds, with backoff; onRetry(n, err) is told
// of each failure. A 4xx other than 404/408/429 is not retried: it will not
// get better.
export async function retrying(fn, onRetry) {
  for (let n = 0; ; n++) {
    try {
      return await fn();
    } catch (err) {
      const s = err instanceof HTTPError ? err.status : 0;
      if (s >= 400 && s < 500 && ![404, 408, 429].includes(s)) throw err;
      if (onRetry) onRetry(n, err);
      await sleep(backoff(n));
    }
  }
}

// The status line: one quiet message at a time, by key, so that it can be
// retranslated when the language changes.
const reasons = new Map(); // reason → i18n key
let flashTimer = 0;
let flashKey = '';

function render() {
  const el = document.getElementById('status');
  if (!el) return;
  let key = '';
  for (const k of reasons.values()) key = k; // the newest reason wins
  if (!key) key = flashKey;
  el.hidden = !key;
  el.textContent = key ? t(key) : '';
  el.dataset.key = key;
  document.body.dataset.offline = reasons.has('ws') || reasons.has('http') ? '1' : '';
}

// setStatus shows key for reason until clearStatus(reason).
export function setStatus(reason, key) {
  reasons.delete(reason);
  reasons.set(reason, key);
  render();
}

// clearStatus removes reason's message; with flash, another message shows
// for a moment (e.g. "connected again").
export function clearStatus(reason, flash) {
  const had = reasons.delete(reason);
  if (had && flash) {
    flashKey = flash;
    clearTimeout(flashTimer);
    flashTimer = setTimeout(() => {
      flashKey = '';
      render();
    }, 2500);
  }
  render();
}

export function relabelStatus() {
  render();
}
