// @ts-check
// The box tool: drag draws a box of the current label; a click (no drag) selects what is under the
// pointer; a drag on a selected instance moves the selection; handles of the selected box resize it.
import { hitTest, normBox, clampBox } from "../geometry.js";
import { newInst } from "../instances.js";
import { gtList } from "../state.js";
import { grab, startMove, DRAG_PX } from "./gestures.js";

/** @type {import("../types.js").Tool} */
export const boxTool = {
  down(s, c) {
    const g = grab(s, c);
    if (g) return g;
    const hit = hitTest(gtList(s), c.x, c.y, c.tol);
    if (hit && s.sel.has(hit.key)) return startMove(s, c);
    return { mode: { type: "draw_box", x0: c.x, y0: c.y, x1: c.x, y1: c.y, sx: c.sx, sy: c.sy, hit } };
  },
  move(s, c) {
    const m = s.mode;
    if (m.type !== "draw_box") return null;
    return { mode: { ...m, x1: c.x, y1: c.y }, redraw: true };
  },
  up(s, c, cancelled) {
    const m = s.mode;
    if (m.type !== "draw_box") return null;
    if (cancelled) return { mode: { type: "idle" }, redraw: true };
    // a click, not a drag: select what is under the pointer
    if (Math.hypot(c.sx - m.sx, c.sy - m.sy) < DRAG_PX.move) return { mode: { type: "idle" }, select: m.hit ? [m.hit.key] : [] };
    const box = clampBox(normBox(m.x0, m.y0, c.x, c.y), s.W, s.H);
    if (box[2] - box[0] < 1 || box[3] - box[1] < 1) return { mode: { type: "idle" }, redraw: true };
    const inst = newInst({ label_id: s.labelId, kind: "box", box, points: null });
    return { mode: { type: "idle" }, edit: { type: "create", insts: [inst], name: "draw box" }, select: [inst.key] };
  },
};
