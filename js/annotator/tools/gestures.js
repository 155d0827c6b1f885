// @ts-check
// The drag gestures that edit existing ground truth: move (the selection), resize (a box handle) and
// vertex (drag, or insert on an edge, a polygon/line/keypoints vertex). `grab` starts one from a
// pointer down; the gesture objects turn later moves into live geometry and the release into an
// undoable update (or put the geometry back when it was only a click or the gesture was cancelled).
import { hitHandle, resizeBox, clampBox, translateGeom, clampDelta, nearestVertex, nearestEdge, insertVertex, clamp, extentOf } from "../geometry.js";
import { snap } from "../instances.js";
import { single } from "../state.js";
import { deep } from "../common.js";

/** @typedef {import("../state.js").State} State */
/** @typedef {import("../types.js").Step} Step */
/** @typedef {import("../types.js").PointerCtx} PointerCtx */
/** @typedef {import("../types.js").Snap} Snap */
/** @typedef {import("../types.js").Geom} Geom */

/** A pointer further than this (screen px) from its down position is a drag, not a click. */
export const DRAG_PX = { move: 3, edit: 2 };

/** The geometry of a snapshot, copied (so live edits never alias a snapshot). @param {Snap} s @returns {Geom} */
const geomOf = (s) => ({ box: deep(s.box), points: deep(s.points) });

/**
 * Start a move of the selection (or of `keys`, the selection the step makes) at the pointer.
 * @param {State} s @param {PointerCtx} c @param {Iterable<string>} [keys] @returns {Step}
 */
export function startMove(s, c, keys = s.sel) {
  /** @type {Map<string, Snap>} */
  const before = new Map();
  for (const k of keys) { const i = s.inst.get(k); if (i) before.set(k, snap(i)); }
  return { mode: { type: "move", x0: c.x, y0: c.y, sx: c.sx, sy: c.sy, before, moved: false } };
}

/**
 * A handle, vertex or edge of the single selected instance under the pointer: the gesture that edits it.
 * Only when the tool is `select` or the selected instance's own kind.
 * @param {State} s @param {PointerCtx} c @returns {Step | null}
 */
export function grab(s, c) {
  const one = single(s);
  if (!one || (s.tool !== "select" && s.tool !== one.kind)) return null;
  const base = { x0: c.x, y0: c.y, sx: c.sx, sy: c.sy, moved: false };
  if (one.kind === "box" && one.box) {
    const handle = hitHandle(one.box, c.x, c.y, c.tol);
    if (handle) return { mode: { type: "resize", key: one.key, handle, box0: [...one.box], before: snap(one), ...base } };
    return null;
  }
  if (!one.points || one.kind === "point") return null;
  const vtx = nearestVertex(one.points, c.x, c.y);
  if (vtx && vtx.d <= c.tol) {
    return {
      mode: { type: "vertex", key: one.key, index: vtx.index, p0: one.points[vtx.index].slice(), before: snap(one), inserted: false, ...base },
      selVertex: { key: one.key, index: vtx.index }, redraw: true,
    };
  }
  if (one.kind !== "polygon" && one.kind !== "line") return null;
  const edge = nearestEdge(one.points, c.x, c.y, one.kind === "polygon");
  if (!edge || !(edge.d <= c.tol || (c.alt && edge.d <= c.tol * 4))) return null;
  const points = insertVertex(one.points, edge.index, [edge.x, edge.y]);
  return {
    mode: { type: "vertex", key: one.key, index: edge.index, p0: [edge.x, edge.y], before: snap(one), inserted: true, ...base },
    edit: { type: "live", geoms: new Map([[one.key, { box: one.box, points }]]) },
    selVertex: { key: one.key, index: edge.index }, redraw: true,
  };
}

/**
 * Put the geometry of `before` back (a click, or a cancelled gesture).
 * @param {Map<string, Snap>} before @returns {Step}
 */
function revert(before) {
  const geoms = new Map([...before].map(([k, b]) => [k, geomOf(b)]));
  return { mode: { type: "idle" }, edit: { type: "live", geoms }, redraw: true };
}

/**
 * The release of a gesture that changed `before`'s instances: one undoable update.
 * @param {State} s @param {Map<string, Snap>} before @param {string} name @returns {Step}
 */
function commit(s, before, name) {
  const changes = [];
  for (const [key, b] of before) {
    const inst = s.inst.get(key);
    if (inst) changes.push({ key, before: b, after: snap(inst) });
  }
  return { mode: { type: "idle" }, edit: { type: "update", changes, name } };
}

/** Move: one delta for the whole selection, clamped so every instance stays inside the image. @type {import("../types.js").Tool} */
export const moveGesture = {
  move(s, c) {
    const m = s.mode;
    if (m.type !== "move") return null;
    if (!m.moved && Math.hypot(c.sx - m.sx, c.sy - m.sy) < DRAG_PX.move) return null;
    let dx = c.ux - m.x0, dy = c.uy - m.y0;
    for (const b of m.before.values()) [dx, dy] = clampDelta(b.box, dx, dy, s.W, s.H);
    const geoms = new Map([...m.before].map(([k, b]) => [k, translateGeom(b, dx, dy)]));
    return { mode: { ...m, moved: true }, edit: { type: "live", geoms }, redraw: true };
  },
  up(s, c, cancelled) {
    const m = s.mode;
    if (m.type !== "move") return null;
    if (!m.moved || cancelled) return revert(m.before);
    return commit(s, m.before, "move");
  },
};

/** Resize a box by one of its 8 handles. @type {import("../types.js").Tool} */
export const resizeGesture = {
  move(s, c) {
    const m = s.mode;
    if (m.type !== "resize") return null;
    const moved = m.moved || Math.hypot(c.sx - m.sx, c.sy - m.sy) >= DRAG_PX.edit;
    const box = clampBox(resizeBox(m.box0, m.handle, c.x - m.x0, c.y - m.y0), s.W, s.H);
    return { mode: { ...m, moved }, edit: { type: "live", geoms: new Map([[m.key, { box, points: m.before.points }]]) }, redraw: true };
  },
  up(s, c, cancelled) {
    const m = s.mode;
    if (m.type !== "resize") return null;
    const before = new Map([[m.key, m.before]]);
    if (!m.moved || cancelled) return revert(before);
    return commit(s, before, "resize");
  },
};

/** Drag one vertex (an inserted one counts as a change even without a drag). @type {import("../types.js").Tool} */
export const vertexGesture = {
  move(s, c) {
    const m = s.mode;
    const inst = m.type === "vertex" ? s.inst.get(m.key) : null;
    if (m.type !== "vertex" || !inst || !inst.points) return null;
    const moved = m.moved || Math.hypot(c.sx - m.sx, c.sy - m.sy) >= DRAG_PX.edit;
    const points = inst.points.slice();
    const p = points[m.index].slice();
    p[0] = clamp(m.p0[0] + (c.x - m.x0), 0, s.W);
    p[1] = clamp(m.p0[1] + (c.y - m.y0), 0, s.H);
    points[m.index] = p;
    return { mode: { ...m, moved }, edit: { type: "live", geoms: new Map([[m.key, { box: extentOf(points), points }]]) }, redraw: true };
  },
  up(s, c, cancelled) {
    const m = s.mode;
    if (m.type !== "vertex") return null;
    const before = new Map([[m.key, m.before]]);
    if ((!m.moved && !m.inserted) || cancelled) return revert(before);
    return commit(s, before, m.inserted ? "insert vertex" : "move vertex");
  },
};
