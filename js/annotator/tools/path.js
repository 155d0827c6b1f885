// @ts-check
// The polygon and line tools: each click adds a vertex; a polygon closes on a click on its first
// vertex (or Enter), a line finishes with Enter or a double click; Backspace removes the last
// vertex, Esc cancels. Vertex handles of a selected shape of the same kind edit it instead.
import { extentOf } from "../geometry.js";
import { newInst } from "../instances.js";
import { grab } from "./gestures.js";

/** @typedef {import("../state.js").State} State */
/** @typedef {import("../types.js").Step} Step */
/** @typedef {import("../types.js").Pt} Pt */

/** A click within this many screen px of the first vertex closes the polygon. */
export const CLOSE_PX = 8;

/**
 * Drop vertices closer than 3 screen px to the previous one (double clicks, jitter).
 * @param {Pt[]} pts @param {number} scale screen px per image px @returns {Pt[]}
 */
export function cleanPts(pts, scale) {
  const out = [];
  const tol = 3 / scale;
  for (const p of pts) {
    const q = out[out.length - 1];
    if (!q || Math.hypot(q[0] - p[0], q[1] - p[1]) > tol) out.push(p);
  }
  return out;
}

/**
 * Finish the path being drawn: a create edit, or a message when it has too few vertices.
 * @param {State} s @returns {Step | null}
 */
export function finishPath(s) {
  const m = s.mode;
  if (m.type !== "draw_path") return null;
  const pts = cleanPts(m.pts, s.view.s);
  if (m.kind === "polygon" && pts.length > 3) {
    const f = pts[0], l = pts[pts.length - 1];
    if (Math.hypot(f[0] - l[0], f[1] - l[1]) * s.view.s <= 3) pts.pop();
  }
  const min = m.kind === "polygon" ? 3 : 2;
  if (pts.length < min) return { message: { text: `A ${m.kind} needs at least ${min} points`, error: true } };
  const inst = newInst({ label_id: s.labelId, kind: m.kind, points: pts, box: extentOf(pts) });
  return { mode: { type: "idle" }, edit: { type: "create", insts: [inst], name: "draw " + m.kind }, select: [inst.key] };
}

/** @param {"polygon" | "line"} kind @returns {import("../types.js").Tool} */
function pathTool(kind) {
  return {
    down(s, c) {
      const m = s.mode;
      if (m.type === "draw_path") {
        const first = m.pts[0];
        if (m.kind === "polygon" && m.pts.length >= 3 && Math.hypot(first[0] - c.x, first[1] - c.y) * s.view.s <= CLOSE_PX) return finishPath(s);
        return { mode: { ...m, pts: [...m.pts, [c.x, c.y]] }, redraw: true };
      }
      const g = grab(s, c);
      if (g) return g;
      return { mode: { type: "draw_path", kind, pts: [[c.x, c.y]], cursor: [c.x, c.y] }, select: [] };
    },
    move(s, c) {
      const m = s.mode;
      if (m.type !== "draw_path") return null;
      return { mode: { ...m, cursor: [c.x, c.y] }, redraw: true };
    },
    key(s, action) {
      const m = s.mode;
      if (m.type !== "draw_path") return null;
      if (action === "finish_drawing") return finishPath(s);
      if (action === "cancel_drawing") return { mode: { type: "idle" }, pendingKp: null, redraw: true };
      if (action === "undo_point") {
        const pts = m.pts.slice(0, -1);
        return pts.length ? { mode: { ...m, pts }, redraw: true } : { mode: { type: "idle" }, pendingKp: null, redraw: true };
      }
      return null;
    },
  };
}

export const polygonTool = pathTool("polygon");
export const lineTool = pathTool("line");
