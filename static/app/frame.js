// Framing: the camera that shows a scene's frame ([w, s, e, n]) whole in
// the part of the screen the panels leave free, at the view's pitch and
// bearing, on a screen of any shape. MapLibre's cameraForBounds fits a box
// as seen from straight above; a pitched camera sees the near edge larger
// and the far edge smaller, so the fit is refined on a copy of the map's
// transform until the projected frame fills the free area.

// framePoints samples the frame's outline: corners and edge midpoints.
function framePoints([w, s, e, n]) {
  const mx = (w + e) / 2, my = (s + n) / 2;
  return [[w, s], [mx, s], [e, s], [e, my], [e, n], [mx, n], [w, n], [w, my]];
}

// fitFrame returns {center, zoom, pitch, bearing, padding} for map that
// shows frame inside the screen minus padding ({top, bottom, left, right}
// in pixels). maplibre is the MapLibre module (LngLat, Point). With turn, a
// frame much wider than the free area is tall (a portrait screen) may be
// seen turned a quarter (bearing + 90°, looking east for a frame laid out
// west to east) when that shows it markedly larger.
export function fitFrame(map, maplibre, frame, opts = {}) {
  const straight = fitAt(map, maplibre, frame, opts);
  if (!opts.turn) return straight;
  const b = opts.bearing ?? 0;
  let best = straight;
  for (const turned of [b + 90, b - 90]) {
    const cam = fitAt(map, maplibre, frame, { ...opts, bearing: ((turned + 540) % 360) - 180 });
    if (cam.zoom > best.zoom + (best === straight ? 0.4 : 0.05)) best = cam;
  }
  return best;
}

function fitAt(map, maplibre, frame, { pitch = 0, bearing = 0, padding, minZoom = 10, maxZoom = 17 } = {}) {
  const pad = { top: 0, bottom: 0, left: 0, right: 0, ...padding };
  const { LngLat, Point } = maplibre;
  const [w, s, e, n] = frame;
  let center = [(w + e) / 2, (s + n) / 2];
  const top = map.cameraForBounds([[w, s], [e, n]], { padding: pad, bearing });
  let zoom = top && Number.isFinite(top.zoom) ? top.zoom : map.getZoom();
  let tr;
  try {
    // The transform is internal to MapLibre (map.transform up to version 5,
    // the camera's from 6 on); the vendored version is pinned and the
    // browser tests check the fit.
    tr = (map.transform || map._camera.transform).clone();
    tr.setPadding(pad);
    tr.setBearing(bearing);
    tr.setPitch(pitch);
  } catch {
    // Without a transform to try cameras on, the top-down fit must do.
    return { center: top?.center ?? center, zoom: clampZoom(zoom, minZoom, maxZoom), pitch, bearing, padding: pad };
  }
  const W = tr.width, H = tr.height;
  const box = { x0: pad.left, x1: W - pad.right, y0: pad.top, y1: H - pad.bottom };
  if (box.x1 - box.x0 < 40 || box.y1 - box.y0 < 40) {
    return { center, zoom: clampZoom(zoom, minZoom, maxZoom), pitch, bearing, padding: pad };
  }
  const pts = framePoints(frame).map(([x, y]) => new LngLat(x, y));
  for (let i = 0; i < 12; i++) {
    tr.setZoom(zoom);
    tr.setCenter(new LngLat(center[0], center[1]));
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const p of pts) {
      const q = tr.locationToScreenPoint(p);
      x0 = Math.min(x0, q.x); x1 = Math.max(x1, q.x);
      y0 = Math.min(y0, q.y); y1 = Math.max(y1, q.y);
    }
    if (!Number.isFinite(x0 + x1 + y0 + y1)) break;
    const k = Math.min((box.x1 - box.x0) / Math.max(1, x1 - x0), (box.y1 - box.y0) / Math.max(1, y1 - y0));
    const dx = (x0 + x1) / 2 - (box.x0 + box.x1) / 2;
    const dy = (y0 + y1) / 2 - (box.y0 + box.y1) / 2;
    const c = tr.centerPoint;
    const moved = tr.screenPointToLocation(new Point(c.x + dx, c.y + dy));
    if (moved && Number.isFinite(moved.lng)) center = [moved.lng, moved.lat];
    const dz = Math.log2(k);
    zoom += dz * 0.9;
    if (Math.abs(dz) < 0.005 && Math.abs(dx) < 1 && Math.abs(dy) < 1) break;
  }
  return { center, zoom: clampZoom(zoom, minZoom, maxZoom), pitch, bearing, padding: pad };
}

function clampZoom(z, lo, hi) {
  return Math.max(lo, Math.min(hi, z));
}

// projectedFrame returns the screen box of frame as map shows it now:
// {x0, y0, x1, y1}, for the tests and for checks.
export function projectedFrame(map, frame) {
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const p of framePoints(frame)) {
    const q = map.project(p);
    x0 = Math.min(x0, q.x); x1 = Math.max(x1, q.x);
    y0 = Math.min(y0, q.y); y1 = Math.max(y1, q.y);
  }
  return { x0, y0, x1, y1 };
}
