// @ts-check
// The keypoints tool: clicks place the label's template points in order; V marks the next point
// labeled-but-not-visible, N skips it (also before the first click); the last point finishes.
import { extentOf } from "../geometry.js";
import { newInst } from "../instances.js";
import { KeypointPlacer } from "../keypoints.js";
import { currentLabel } from "../state.js";
import { grab } from "./gestures.js";

/** @typedef {import("../state.js").State} State */
/** @typedef {import("../types.js").Step} Step */

/**
 * The drawing with `placer` as it now stands: finished when every point is placed.
 * @param {State} s @param {KeypointPlacer} placer @param {import("../types.js").Pt} cursor @returns {Step}
 */
function placed(s, placer, cursor) {
  if (!placer.done) return { mode: { type: "draw_keypoints", placer, cursor }, redraw: true };
  return finish(s, placer);
}

/** @param {State} s @param {KeypointPlacer} placer @returns {Step} */
function finish(s, placer) {
  if (!placer.labeled) return { mode: { type: "idle" }, pendingKp: null, redraw: true };
  const pts = placer.result();
  const inst = newInst({ label_id: s.labelId, kind: "keypoints", points: pts, box: extentOf(pts) });
  return { mode: { type: "idle" }, pendingKp: null, edit: { type: "create", insts: [inst], name: "draw keypoints" }, select: [inst.key] };
}

/** @type {import("../types.js").Tool} */
export const keypointsTool = {
  down(s, c) {
    const m = s.mode;
    if (m.type === "draw_keypoints") {
      const placer = m.placer.clone();
      placer.place(c.x, c.y);
      return placed(s, placer, m.cursor);
    }
    const g = grab(s, c);
    if (g) return g;
    const l = currentLabel(s);
    const names = l && l.keypoints && l.keypoints.points;
    if (!names || !names.length) return { message: { text: `Label "${l ? l.name : "?"}" has no keypoint template`, error: true } };
    const placer = new KeypointPlacer(names);
    for (const a of s.pendingKp || []) a === "v" ? placer.markNotVisible() : placer.skip();
    placer.place(c.x, c.y);
    return { select: [], ...placed(s, placer, [c.x, c.y]), pendingKp: null };
  },
  move(s, c) {
    const m = s.mode;
    if (m.type !== "draw_keypoints") return null;
    return { mode: { ...m, cursor: [c.x, c.y] }, redraw: true };
  },
  key(s, action) {
    const m = s.mode;
    if (action === "kp_pre_nv") return { pendingKp: [...(s.pendingKp || []), "v"], message: { text: "next keypoint: labeled, not visible" } };
    if (action === "kp_pre_skip") return { pendingKp: [...(s.pendingKp || []), "n"], message: { text: "next keypoint skipped" } };
    if (m.type !== "draw_keypoints") return null;
    const placer = m.placer.clone();
    switch (action) {
      case "kp_not_visible": placer.markNotVisible(); return { mode: { ...m, placer }, redraw: true };
      case "kp_skip": placer.skip(); return placed(s, placer, m.cursor);
      case "finish_drawing": return finish(s, placer);
      case "cancel_drawing": case "undo_point": return { mode: { type: "idle" }, pendingKp: null, redraw: true };
      default: return null;
    }
  },
};
