// @ts-check
// Pure geometry helpers: boxes, polygons, hit testing, handles. All coordinates are original image px.

/** @typedef {import("./types.js").Box} Box */
/** @typedef {import("./types.js").Pt} Pt */
/** @typedef {{kind: string, box?: Box | null, points?: Pt[] | null}} Shape */

/**
 * Normalize two corners to [x0, y0, x1, y1] with x0 <= x1, y0 <= y1.
 * @param {number} x0 @param {number} y0 @param {number} x1 @param {number} y1 @returns {Box}
 */
export function normBox(x0, y0, x1, y1) {
  return [Math.min(x0, x1), Math.min(y0, y1), Math.max(x0, x1), Math.max(y0, y1)];
}

/** Clamp a box into the image [0, w] x [0, h]. @param {Box} b @param {number} w @param {number} h @returns {Box} */
export function clampBox(b, w, h) {
  /** @param {number} v @param {number} hi */
  const c = (v, hi) => Math.max(0, Math.min(hi, v));
  return [c(b[0], w), c(b[1], h), c(b[2], w), c(b[3], h)];
}

/** @param {number} v @param {number} lo @param {number} hi */
export const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, v));

/** Round to 2 decimals (keeps payloads small and stable). @param {number} v */
export const r2 = (v) => Math.round(v * 100) / 100;

/** @param {Box} b */
export function boxArea(b) {
  return Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);
}

/** Extent of a point list; keypoints with v === 0 (not labeled) are ignored. @param {Pt[]} points @returns {Box} */
export function extentOf(points) {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const p of points) {
    if (p.length > 2 && p[2] === 0) continue;
    if (p[0] < x0) x0 = p[0];
    if (p[1] < y0) y0 = p[1];
    if (p[0] > x1) x1 = p[0];
    if (p[1] > y1) y1 = p[1];
  }
  if (x0 === Infinity) return [0, 0, 0, 0];
  return [x0, y0, x1, y1];
}

/** @param {number} x @param {number} y @param {Box} b @param {number} [tol] */
export function pointInBox(x, y, b, tol = 0) {
  return x >= b[0] - tol && x <= b[2] + tol && y >= b[1] - tol && y <= b[3] + tol;
}

/** Even-odd point in polygon test. @param {number} x @param {number} y @param {Pt[]} pts */
export function pointInPolygon(x, y, pts) {
  let inside = false;
  for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
    const [xi, yi] = pts[i], [xj, yj] = pts[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/**
 * Distance from p to segment a-b, with the projection parameter t in [0, 1].
 * @param {number} px @param {number} py @param {number} ax @param {number} ay @param {number} bx @param {number} by
 */
export function distToSegment(px, py, ax, ay, bx, by) {
  const dx = bx - ax, dy = by - ay;
  const len2 = dx * dx + dy * dy;
  let t = len2 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
  t = clamp(t, 0, 1);
  const qx = ax + t * dx, qy = ay + t * dy;
  return { d: Math.hypot(px - qx, py - qy), t, x: qx, y: qy };
}

/**
 * Nearest vertex (skipping keypoints with v === 0): {index, d} or null.
 * @param {Pt[]} pts @param {number} x @param {number} y @returns {{index: number, d: number} | null}
 */
export function nearestVertex(pts, x, y) {
  /** @type {{index: number, d: number} | null} */
  let best = null;
  pts.forEach((p, i) => {
    if (p.length > 2 && p[2] === 0) return;
    const d = Math.hypot(p[0] - x, p[1] - y);
    if (!best || d < best.d) best = { index: i, d };
  });
  return best;
}

/**
 * Nearest edge of a polyline/polygon: {index: insert position, d, x, y} or null.
 * @param {Pt[]} pts @param {number} x @param {number} y @param {boolean} closed
 * @returns {{index: number, d: number, x: number, y: number} | null}
 */
export function nearestEdge(pts, x, y, closed) {
  /** @type {{index: number, d: number, x: number, y: number} | null} */
  let best = null;
  const n = pts.length;
  const m = closed ? n : n - 1;
  for (let i = 0; i < m; i++) {
    const a = pts[i], b = pts[(i + 1) % n];
    const r = distToSegment(x, y, a[0], a[1], b[0], b[1]);
    if (!best || r.d < best.d) best = { index: i + 1, d: r.d, x: r.x, y: r.y };
  }
  return best;
}

/** Insert vertex p before position i (returns a new array). @param {Pt[]} pts @param {number} i @param {Pt} p @returns {Pt[]} */
export function insertVertex(pts, i, p) {
  const out = pts.map((q) => q.slice());
  out.splice(i, 0, p.slice());
  return out;
}

/**
 * Delete vertex i unless that would leave fewer than minCount vertices (returns null then).
 * @param {Pt[]} pts @param {number} i @param {number} [minCount] @returns {Pt[] | null}
 */
export function deleteVertex(pts, i, minCount = 3) {
  if (pts.length - 1 < minCount || i < 0 || i >= pts.length) return null;
  const out = pts.map((q) => q.slice());
  out.splice(i, 1);
  return out;
}

export const HANDLE_NAMES = ["nw", "n", "ne", "e", "se", "s", "sw", "w"];

/** The 8 resize handles of a box: [{name, x, y}]. @param {Box} b */
export function boxHandles(b) {
  const [x0, y0, x1, y1] = b;
  const mx = (x0 + x1) / 2, my = (y0 + y1) / 2;
  return [
    { name: "nw", x: x0, y: y0 }, { name: "n", x: mx, y: y0 }, { name: "ne", x: x1, y: y0 },
    { name: "e", x: x1, y: my }, { name: "se", x: x1, y: y1 }, { name: "s", x: mx, y: y1 },
    { name: "sw", x: x0, y: y1 }, { name: "w", x: x0, y: my },
  ];
}

/**
 * Handle under (x, y) within tol (image px), or null.
 * @param {Box} b @param {number} x @param {number} y @param {number} tol @returns {string | null}
 */
export function hitHandle(b, x, y, tol) {
  /** @type {string | null} */
  let best = null, bd = Infinity;
  for (const h of boxHandles(b)) {
    const d = Math.max(Math.abs(h.x - x), Math.abs(h.y - y));
    if (d <= tol && d < bd) { best = h.name; bd = d; }
  }
  return best;
}

/** Resize box b by moving handle `name` by (dx, dy); result is normalized. @param {Box} b @param {string} name @param {number} dx @param {number} dy */
export function resizeBox(b, name, dx, dy) {
  let [x0, y0, x1, y1] = b;
  if (name.includes("w")) x0 += dx;
  if (name.includes("e")) x1 += dx;
  if (name.includes("n")) y0 += dy;
  if (name.includes("s")) y1 += dy;
  return normBox(x0, y0, x1, y1);
}

/**
 * Translate geometry {box, points} by (dx, dy); returns a new geometry.
 * @param {{box: Box | null, points: Pt[] | null}} g @param {number} dx @param {number} dy
 * @returns {{box: Box | null, points: Pt[] | null}}
 */
export function translateGeom(g, dx, dy) {
  /** @type {Box | null} */
  const box = g.box ? [g.box[0] + dx, g.box[1] + dy, g.box[2] + dx, g.box[3] + dy] : g.box;
  const points = g.points
    ? g.points.map((p) => (p.length > 2 ? (p[2] === 0 ? p.slice() : [p[0] + dx, p[1] + dy, p[2]]) : [p[0] + dx, p[1] + dy]))
    : g.points;
  return { box, points };
}

/**
 * Clamp a translation so the box stays inside the image.
 * @param {Box | null} box @param {number} dx @param {number} dy @param {number} w @param {number} h @returns {[number, number]}
 */
export function clampDelta(box, dx, dy, w, h) {
  if (!box) return [dx, dy];
  dx = clamp(dx, -box[0], w - box[2]);
  dy = clamp(dy, -box[1], h - box[3]);
  return [dx, dy];
}

/**
 * Does instance `inst` contain/touch image point (x, y)? tol is in image px.
 * Returns a score (smaller = better match) or Infinity when not hit.
 * @param {Shape} inst @param {number} x @param {number} y @param {number} tol
 */
export function hitScore(inst, x, y, tol) {
  const k = inst.kind;
  if (k === "point" || k === "keypoints") {
    const v = nearestVertex(inst.points || [], x, y);
    if (v && v.d <= tol) return v.d * 0.001; // points win over areas
    if (k === "keypoints" && inst.box && pointInBox(x, y, inst.box)) return boxArea(inst.box) + 1;
    return Infinity;
  }
  if (k === "line") {
    const e = nearestEdge(inst.points || [], x, y, false);
    return e && e.d <= tol ? e.d * 0.001 : Infinity;
  }
  if (k === "polygon") {
    const pts = inst.points || [];
    if (pointInPolygon(x, y, pts)) return boxArea(inst.box || extentOf(pts)) + 1;
    const e = nearestEdge(pts, x, y, true);
    return e && e.d <= tol ? e.d * 0.001 : Infinity;
  }
  if (k === "box" && inst.box && pointInBox(x, y, inst.box, tol)) return boxArea(inst.box) + 1;
  return Infinity;
}

/**
 * Best hit among instances: the smallest (most specific) one under the pointer; null if none.
 * @template {Shape} T
 * @param {Iterable<T>} instances @param {number} x @param {number} y @param {number} tol @returns {T | null}
 */
export function hitTest(instances, x, y, tol) {
  /** @type {T | null} */
  let best = null, bs = Infinity;
  for (const inst of instances) {
    const s = hitScore(inst, x, y, tol);
    if (s < bs || (s === bs && s !== Infinity)) { best = inst; bs = s; }
  }
  return best;
}

/**
 * Instances whose extent lies entirely inside rectangle r.
 * @template {Shape} T
 * @param {T[]} instances @param {Box} r @returns {T[]}
 */
export function inRect(instances, r) {
  return instances.filter((i) => i.box && i.box[0] >= r[0] && i.box[1] >= r[1] && i.box[2] <= r[2] && i.box[3] <= r[3]);
}

/** Intersection over union of two boxes. @param {Box} a @param {Box} b */
export function iou(a, b) {
  const ix = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = ix * iy;
  const u = boxArea(a) + boxArea(b) - inter;
  return u > 0 ? inter / u : 0;
}
