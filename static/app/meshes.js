// Meshes: the features with a 3D shape — the church with its roof,
// Kristallen, a company's LoD2 house — drawn inside the map by three.js in
// a MapLibre custom layer, from the server's 3D Tiles of solids
// (/3dtiles/solids/tileset.json). Their extrusions are filtered out of the
// vector layers (has_solid), so that no building is drawn twice; every
// other building stays an extrusion.
//
// Time: each vertex carries its feature's from and to (read once from the
// content's EXT_structural_metadata table through its feature id), and the
// shader drops what does not stand in the map's year: moving the timeline
// fetches nothing. The colour follows the extrusions' rules (moved, to be
// demolished, new, standing) times each surface's shade (roofs darker).
//
// Each content is placed in MapLibre's Mercator world by the tile's
// transform into ECEF and a local linear map from ECEF to Mercator at the
// tile's origin (a content tile is at most a few hundred metres across:
// the error is about a centimetre); the camera's matrices are taken relative to a centre, so
// that the GPU's float32 sees small numbers.
import * as THREE from '../lib/three/three.module.min.js';
import { GLTFLoader } from '../lib/three/addons/loaders/GLTFLoader.js';

const TILESET = '/3dtiles/solids/tileset.json';
// The vector layers that extrude areas: features with a solid leave them.
const EXTRUDED = ['buildings', 'buildings-planned', 'pilots-extrusion'];

// The extrusions' colours (static/style.json), as linear RGB for three.js.
const COLORS = {
  moved: '#8b2f23', doomed: '#d58f6a', fresh: '#b0623a', standing: '#d8b57e', planned: '#ffffff', pilot: '#2a7f9e',
};
const rgb = Object.fromEntries(Object.entries(COLORS).map(([k, v]) => [k, new THREE.Color(v)]));

const WGS84_A = 6378137, WGS84_F = 1 / 298.257223563, E2 = WGS84_F * (2 - WGS84_F);

function lonLatOf(x, y, z) {
  const r = Math.hypot(x, y);
  let lat = Math.atan2(z, r * (1 - E2));
  for (let i = 0; i < 6; i++) {
    const s = Math.sin(lat), n = WGS84_A / Math.sqrt(1 - E2 * s * s);
    const h = r / Math.cos(lat) - n;
    lat = Math.atan2(z, r * (1 - E2 * n / (n + h)));
  }
  return [Math.atan2(y, x) * 180 / Math.PI, lat * 180 / Math.PI];
}

// ecefToMercator maps ECEF points near o (a Vector3) to MapLibre's
// Mercator world, linearly: the map from metres east and north on the
// WGS84 ellipsoid to Mercator x and y at o's latitude (which is not
// MapLibre's metre, a sphere's: 0.4 % apart at Kiruna), and up in
// MapLibre's metres, as the extrusions' heights are.
function ecefToMercator(maplibre, o) {
  const [lon, lat] = lonLatOf(o.x, o.y, o.z);
  const mc = maplibre.MercatorCoordinate.fromLngLat([lon, lat], 0);
  const la = lat * Math.PI / 180, lo = lon * Math.PI / 180;
  const sin = Math.sin(la), cos = Math.cos(la);
  const w = 1 - E2 * sin * sin;
  const N = WGS84_A / Math.sqrt(w); // radius of curvature east-west
  const M = WGS84_A * (1 - E2) / (w * Math.sqrt(w)); // north-south
  const sx = 1 / (2 * Math.PI * N * cos), sy = 1 / (2 * Math.PI * M * cos);
  const sz = mc.meterInMercatorCoordinateUnits();
  const east = [-Math.sin(lo), Math.cos(lo), 0];
  const north = [-sin * Math.cos(lo), -sin * Math.sin(lo), cos];
  const up = [cos * Math.cos(lo), cos * Math.sin(lo), sin];
  // Rows: Mercator x = east·sx, y = −north·sy (y runs south), z = up·sz.
  const m = new THREE.Matrix4().set(
    east[0] * sx, east[1] * sx, east[2] * sx, 0,
    -north[0] * sy, -north[1] * sy, -north[2] * sy, 0,
    up[0] * sz, up[1] * sz, up[2] * sz, 0,
    0, 0, 0, 1,
  );
  m.multiply(new THREE.Matrix4().makeTranslation(-o.x, -o.y, -o.z));
  return new THREE.Matrix4().makeTranslation(mc.x, mc.y, mc.z).multiply(m);
}

// readTable reads the property table of a loaded glTF: column name →
// array of values, by feature index.
async function readTable(parser) {
  const ext = parser.json.extensions && parser.json.extensions.EXT_structural_metadata;
  if (!ext || !ext.propertyTables || !ext.propertyTables.length) return { count: 0, cols: {} };
  const table = ext.propertyTables[0];
  const cls = ext.schema.classes[table.class];
  const view = async (i) => new Uint8Array(await parser.getDependency('bufferView', i));
  const dec = new TextDecoder();
  const cols = {};
  for (const [name, p] of Object.entries(table.properties)) {
    const def = cls.properties[name];
    const values = await view(p.values);
    if (def.type === 'STRING') {
      const offs = await view(p.stringOffsets);
      const dv = new DataView(offs.buffer, offs.byteOffset, offs.byteLength);
      cols[name] = Array.from({ length: table.count }, (_, i) => dec.decode(values.subarray(dv.getUint32(4 * i, true), dv.getUint32(4 * i + 4, true))));
    } else if (def.type === 'SCALAR' && def.componentType === 'FLOAT64') {
      const dv = new DataView(values.buffer, values.byteOffset, values.byteLength);
      cols[name] = Array.from({ length: table.count }, (_, i) => dv.getFloat64(8 * i, true));
    } else if (def.type === 'BOOLEAN') {
      cols[name] = Array.from({ length: table.count }, (_, i) => !!(values[i >> 3] & (1 << (i & 7))));
    }
  }
  return { count: table.count, cols };
}

export class Meshes {
  // map: the MapLibre map; maplibre: its module; metrics: window.twin's
  // metrics (firstMeshesMs is set when the first content is drawn).
  constructor(map, maplibre, { metrics = {}, url = TILESET } = {}) {
    this.map = map;
    this.maplibre = maplibre;
    this.metrics = metrics;
    this.url = url;
    this.scene = new THREE.Scene();
    this.camera = new THREE.Camera();
    this.camera.matrixAutoUpdate = false;
    this.camera.matrixWorldAutoUpdate = false;
    this.tiles = []; // { mesh, ids, shade, table }
    this.groups = [];
    this.year = null;
    this.centre = null;
    this.uniforms = { uYear: { value: 2025 } };
    // Light like the extrusions': soft all round, and from the style's
    // light (azimuth 200°, 68° from the zenith).
    this.scene.add(new THREE.AmbientLight(0xffffff, 1.6));
    const sun = new THREE.DirectionalLight(0xfff3e2, 1.5);
    const az = 200 * Math.PI / 180, polar = 68 * Math.PI / 180;
    sun.position.set(-Math.sin(az) * Math.sin(polar), Math.cos(az) * Math.sin(polar), Math.cos(polar));
    this.scene.add(sun);
    this.scene.add(sun.target);
    this.loaded = false;
  }

  // start adds the layer and loads the tileset; it resolves once every
  // content is in the scene (or the tileset is empty).
  async start(beforeId) {
    this.filterExtrusions();
    this.map.addLayer(this.layer(), beforeId && this.map.getLayer(beforeId) ? beforeId : undefined);
    // An edit outside the view sends no invalidate: look again after each
    // move (a revalidation, 304 while nothing changed).
    this.map.on('moveend', () => this.reload().catch((err) => console.warn('meshes:', err)));
    await this.reload();
  }

  // reload reads the tileset again (after an edit: a company's pilot) and
  // puts its contents in place of the old ones. The browser revalidates
  // each file by its ETag, so what did not change is not sent again.
  async reload() {
    const gen = (this.gen = (this.gen || 0) + 1);
    const res = await fetch(this.url, { cache: 'no-cache' });
    if (!res.ok) throw new Error(`${this.url}: ${res.status}`);
    const text = await res.text();
    if (text === this.tilesetText) return; // nothing changed
    const tileset = JSON.parse(text);
    const contents = [];
    const walk = (tile, parent) => {
      const m = parent.clone();
      if (tile.transform) m.multiply(new THREE.Matrix4().fromArray(tile.transform));
      if (tile.content) contents.push({ uri: new URL(tile.content.uri, new URL(this.url, location.href)).href, matrix: m });
      for (const c of tile.children || []) walk(c, m);
    };
    if (tileset.root) walk(tileset.root, new THREE.Matrix4());
    const loader = new GLTFLoader();
    const loaded = await Promise.all(contents.map(async (c) => {
      const buf = await (await fetch(c.uri, { cache: 'no-cache' })).arrayBuffer();
      const gltf = await loader.parseAsync(buf, '');
      return { gltf, matrix: c.matrix, table: await readTable(gltf.parser) };
    }));
    if (gen !== this.gen) return; // a newer reload is under way
    this.tilesetText = text;
    for (const t of this.tiles) t.mesh.geometry.dispose();
    for (const g of this.groups || []) this.scene.remove(g);
    this.tiles = [];
    this.groups = [];
    for (const l of loaded) this.add(l.gltf, l.matrix, l.table);
    this.loaded = true;
    this.map.triggerRepaint();
  }

  // filterExtrusions leaves the features with a solid out of the vector
  // layers that extrude.
  filterExtrusions() {
    for (const id of EXTRUDED) {
      if (!this.map.getLayer(id)) continue;
      const f = this.map.getFilter(id);
      const noSolid = ['!=', ['get', 'has_solid'], true];
      this.map.setFilter(id, f ? ['all', f, noSolid] : noSolid);
    }
  }

  add(gltf, tileMatrix, table) {
    // glTF is y-up; 3D Tiles z-up: turn it, then the tile's transforms,
    // then into Mercator at the tile's origin.
    const local = tileMatrix.clone().multiply(new THREE.Matrix4().makeRotationX(Math.PI / 2));
    const o = new THREE.Vector3().setFromMatrixPosition(tileMatrix);
    const toMerc = ecefToMercator(this.maplibre, o).multiply(local);
    if (!this.centre) this.centre = new THREE.Vector3().setFromMatrixPosition(toMerc);
    const group = new THREE.Group();
    group.matrixAutoUpdate = false;
    group.matrix.copy(toMerc);
    gltf.scene.traverse((obj) => {
      if (!obj.isMesh) return;
      const g = obj.geometry;
      const ids = g.getAttribute('_feature_id_0');
      const shade = g.getAttribute('color');
      const n = g.getAttribute('position').count;
      const fromTo = new Float32Array(2 * n);
      const from = table.cols.from || [], to = table.cols.to || [];
      for (let v = 0; v < n; v++) {
        const f = ids ? ids.getX(v) : 0;
        fromTo[2 * v] = from[f] ?? -1e9;
        fromTo[2 * v + 1] = to[f] ?? 1e9;
      }
      g.setAttribute('aFromTo', new THREE.BufferAttribute(fromTo, 2));
      g.setAttribute('color', new THREE.BufferAttribute(new Float32Array(3 * n), 3));
      const mat = new THREE.MeshLambertMaterial({ vertexColors: true });
      mat.onBeforeCompile = (shader) => {
        shader.uniforms.uYear = this.uniforms.uYear;
        shader.vertexShader = shader.vertexShader
          .replace('#include <common>', '#include <common>\nattribute vec2 aFromTo;\nuniform float uYear;\nvarying float vGone;')
          .replace('#include <begin_vertex>', '#include <begin_vertex>\nvGone = (uYear < aFromTo.x || uYear >= aFromTo.y) ? 1.0 : 0.0;');
        shader.fragmentShader = shader.fragmentShader
          .replace('#include <common>', '#include <common>\nvarying float vGone;')
          .replace('void main() {', 'void main() {\nif (vGone > 0.5) discard;');
      };
      obj.material = mat;
      obj.frustumCulled = false;
      obj.matrixAutoUpdate = false;
      this.tiles.push({ mesh: obj, ids, shade, table });
    });
    group.add(gltf.scene);
    this.scene.add(group);
    this.groups.push(group);
    this.year = null; // recolour at the next frame
    if (!this.metrics.firstMeshesMs) this.metrics.firstMeshesMs = performance.now();
  }

  // recolour gives every vertex its feature's colour in year y, as the
  // extrusions' style does, times its surface's shade.
  recolour(y) {
    const st = this.map.getGlobalState ? this.map.getGlobalState() : {};
    const doomYears = st.doomYears ?? 10, newFrom = st.newFrom ?? 2010;
    for (const t of this.tiles) {
      const c = t.table.cols;
      const colour = Array.from({ length: t.table.count }, (_, f) => {
        const to = c.to ? c.to[f] : 9999;
        if (c.layer && c.layer[f] === 'pilots') return rgb.pilot;
        if (c.status && c.status[f] === 'planned') return rgb.planned;
        if ((c.status && c.status[f] === 'moved') || (c.lineage && c.lineage[f])) return rgb.moved;
        if (to < 9999 && to - y <= doomYears) return rgb.doomed;
        if (c.from && c.from[f] >= newFrom) return rgb.fresh;
        return rgb.standing;
      });
      const out = t.mesh.geometry.getAttribute('color');
      for (let v = 0; v < out.count; v++) {
        const col = colour[t.ids ? t.ids.getX(v) : 0] || rgb.standing;
        const k = t.shade ? [t.shade.getX(v), t.shade.getY(v), t.shade.getZ(v)] : [1, 1, 1];
        out.setXYZ(v, col.r * k[0], col.g * k[1], col.b * k[2]);
      }
      out.needsUpdate = true;
    }
  }

  layer() {
    const self = this;
    return {
      id: 'meshes',
      type: 'custom',
      renderingMode: '3d',
      onAdd(map, gl) {
        self.renderer = new THREE.WebGLRenderer({ canvas: map.getCanvas(), context: gl, antialias: true });
        self.renderer.autoClear = false;
      },
      render(gl, args) {
        if (!self.centre || !self.renderer) return;
        const y = Number(self.map.getGlobalState ? self.map.getGlobalState().year : 2025);
        if (y !== self.year) {
          self.year = y;
          self.uniforms.uYear.value = y;
          self.recolour(y);
        }
        const mvp = (args && (args.defaultProjectionData ? args.defaultProjectionData.mainMatrix : args.modelViewProjectionMatrix)) || args;
        const c = self.centre;
        const cam = self.camera;
        cam.projectionMatrix.fromArray(mvp).multiply(new THREE.Matrix4().makeTranslation(c.x, c.y, c.z));
        cam.projectionMatrixInverse.copy(cam.projectionMatrix).invert();
        cam.matrixWorld.makeTranslation(c.x, c.y, c.z);
        cam.matrixWorldInverse.makeTranslation(-c.x, -c.y, -c.z);
        self.renderer.resetState();
        self.renderer.render(self.scene, cam);
      },
    };
  }

  // pick returns the feature of the mesh under a screen point, nearest
  // first, as { layer, id }, or null.
  pick(point) {
    if (!this.centre || !this.camera) return null;
    const canvas = this.map.getCanvas();
    const w = canvas.clientWidth, h = canvas.clientHeight;
    const x = (point.x / w) * 2 - 1, y = 1 - (point.y / h) * 2;
    const inv = this.camera.projectionMatrixInverse;
    const near = new THREE.Vector3(x, y, -1).applyMatrix4(inv).applyMatrix4(this.camera.matrixWorld);
    const far = new THREE.Vector3(x, y, 1).applyMatrix4(inv).applyMatrix4(this.camera.matrixWorld);
    const ray = new THREE.Raycaster(near, far.clone().sub(near).normalize());
    this.scene.updateMatrixWorld();
    const year = this.uniforms.uYear.value;
    for (const hit of ray.intersectObjects(this.tiles.map((t) => t.mesh), false)) {
      const t = this.tiles.find((x) => x.mesh === hit.object);
      if (!t || !t.ids) continue;
      const f = t.ids.getX(hit.face.a);
      const c = t.table.cols;
      if (c.from && (year < c.from[f] || year >= c.to[f])) continue; // not there this year
      return { layer: (c.layer && c.layer[f]) || 'buildings', id: c.id[f] };
    }
    return null;
  }

  // features lists the features drawn in year y (for tests and kiosks).
  features(y = this.uniforms.uYear.value) {
    const out = [];
    for (const t of this.tiles) {
      const c = t.table.cols;
      for (let f = 0; f < t.table.count; f++) {
        if (!c.from || (c.from[f] <= y && y < c.to[f])) out.push(c.id[f]);
      }
    }
    return out;
  }
}
