// @ts-check
// Instances in the browser: local keys, conversion from the wire, snapshots of the editable part,
// and the payload a save sends (coordinates rounded to 0.01 px).
import { extentOf, r2 } from "./geometry.js";
import { deep } from "./common.js";

/** @typedef {import("./types.js").Inst} Inst */
/** @typedef {import("./types.js").Snap} Snap */

let seq = 0;
/** A page-unique local key. @param {string} [prefix] */
export const newKey = (prefix = "k") => prefix + ++seq;

/**
 * An instance from the kernel (ground truth, or with prefix "p" a prediction).
 * @param {import("./types.js").WireInst} w
 * @param {string} [prefix]
 * @returns {Inst}
 */
export function fromServer(w, prefix = "k") {
  const c = deep(w);
  /** @type {Inst} */
  const inst = {
    ...c, key: newKey(prefix), ref: { id: w.id, version: w.version }, id: c.id ?? null, version: c.version ?? null,
    box: c.box ?? null, points: c.points ?? null, attributes: c.attributes || {}, run: c.run ?? null,
    score: c.score ?? null, author: c.author ?? null,
  };
  if (!inst.box && inst.points && inst.points.length) inst.box = extentOf(inst.points);
  if (prefix === "p") inst.hidden = false;
  return inst;
}

/**
 * A new, not yet saved instance.
 * @param {{label_id: number | null, kind: import("./types.js").Kind, box: import("./types.js").Box | null,
 *   points: import("./types.js").Pt[] | null, attributes?: import("./types.js").Attrs}} o
 * @returns {Inst}
 */
export function newInst(o) {
  return { key: newKey(), ref: null, id: null, version: null, run: null, score: null, author: null, attributes: {}, ...o };
}

/** @param {Inst} inst @returns {Snap} */
export function snap(inst) {
  return { label_id: inst.label_id, box: deep(inst.box), points: deep(inst.points), attributes: deep(inst.attributes || {}) };
}

/** Put a snapshot back (copies it). @param {Inst} inst @param {Snap} s */
export function applySnap(inst, s) {
  inst.label_id = s.label_id;
  inst.box = deep(s.box);
  inst.points = deep(s.points);
  inst.attributes = deep(s.attributes);
}

/** The body of a create / update. @param {Inst} inst */
export function payload(inst) {
  /** @param {import("./types.js").Pt[] | null} pts */
  const round = (pts) => pts && pts.map((p) => p.map((x, j) => (j < 2 ? r2(x) : x)));
  return {
    label_id: inst.label_id, kind: inst.kind, box: inst.box ? inst.box.map(r2) : null,
    points: round(inst.points) || null, attributes: deep(inst.attributes || {}),
  };
}
