// @ts-check
// Edits that come from keys and the panel rather than the pointer: duplicate the selection, change
// its label, set an attribute, delete the selected vertex. Each reads the state and returns a Step
// (like the tools), so the editor applies, saves and makes it undoable the same way.
import { clampDelta, translateGeom, deleteVertex, extentOf } from "./geometry.js";
import { newInst, snap } from "./instances.js";
import { selected } from "./state.js";
import { deep } from "./common.js";

/** @typedef {import("./state.js").State} State */
/** @typedef {import("./types.js").Step} Step */
/** @typedef {import("./types.js").Change} Change */

/** Copies of the selection, offset by ~10 screen px (inside the image), selected. @param {State} s @returns {Step} */
export function copiesOf(s) {
  const sel = selected(s).filter((i) => i.kind !== "tag");
  if (!sel.length) return {};
  const off = Math.max(1, Math.round(10 / s.view.s));
  const copies = sel.map((i) => {
    let [dx, dy] = clampDelta(i.box, off, off, s.W, s.H);
    if (!dx && !dy) [dx, dy] = clampDelta(i.box, -off, -off, s.W, s.H);
    const g = translateGeom({ box: i.box, points: i.points }, dx, dy);
    return newInst({ label_id: i.label_id, kind: i.kind, box: g.box, points: g.points, attributes: deep(i.attributes || {}) });
  });
  return { edit: { type: "create", insts: copies, name: "duplicate" }, select: copies.map((c) => c.key) };
}

/** Give the selected instances label `id` (those whose kind it allows). @param {State} s @param {number} id @returns {Step | null} */
export function relabel(s, id) {
  const l = s.labelById.get(id);
  const sp = (l && l.spatial) || [];
  /** @type {Change[]} */
  const changes = [];
  for (const inst of selected(s)) {
    if (inst.label_id === id || !sp.includes(inst.kind)) continue;
    const before = snap(inst);
    changes.push({ key: inst.key, before, after: { ...snap(inst), label_id: id } });
  }
  return changes.length ? { edit: { type: "update", changes, name: "change label" } } : null;
}

/**
 * Set (or, with null, clear) attribute `name` on the instances `keys`.
 * @param {State} s @param {string[]} keys @param {string} name @param {any} value @returns {Step}
 */
export function withAttr(s, keys, name, value) {
  /** @type {Change[]} */
  const changes = [];
  for (const key of keys) {
    const inst = s.inst.get(key);
    if (!inst) continue;
    const before = snap(inst), after = snap(inst);
    if (value == null) delete after.attributes[name];
    else after.attributes[name] = deep(value);
    changes.push({ key, before, after });
  }
  return changes.length ? { edit: { type: "update", changes, name: "attribute" } } : {};
}

/**
 * Delete the selected vertex (a keypoint becomes "not labeled"); null when no vertex is selected.
 * @param {State} s @returns {Step | null}
 */
export function deleteVertexEdit(s) {
  const sv = s.selVertex;
  const inst = sv && s.inst.get(sv.key);
  if (!sv || !inst || !inst.points) return null;
  let pts = null;
  if (inst.kind === "keypoints") {
    pts = inst.points.map((p) => p.slice());
    pts[sv.index] = [0, 0, 0];
  } else pts = deleteVertex(inst.points, sv.index, inst.kind === "line" ? 2 : 3);
  if (!pts) return { message: { text: `A ${inst.kind} needs at least ${inst.kind === "line" ? 2 : 3} points`, error: true } };
  const before = snap(inst);
  const after = { ...snap(inst), points: pts, box: extentOf(pts) };
  return { edit: { type: "update", changes: [{ key: inst.key, before, after }], name: "delete vertex" }, selVertex: null };
}
