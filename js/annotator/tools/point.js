// @ts-check
// The point tool: a click places a point of the current label; a drag on a point moves it.
import { hitTest } from "../geometry.js";
import { newInst } from "../instances.js";
import { gtList } from "../state.js";
import { startMove } from "./gestures.js";

/** @type {import("../types.js").Tool} */
export const pointTool = {
  down(s, c) {
    const hit = hitTest(gtList(s), c.x, c.y, c.tol);
    if (hit && hit.kind === "point") {
      if (s.sel.has(hit.key)) return startMove(s, c);
      return { ...startMove(s, c, [hit.key]), select: [hit.key] };
    }
    return { mode: { type: "draw_point", x: c.x, y: c.y } };
  },
  up(s, c, cancelled) {
    const m = s.mode;
    if (m.type !== "draw_point") return null;
    if (cancelled) return { mode: { type: "idle" } };
    const inst = newInst({ label_id: s.labelId, kind: "point", box: [m.x, m.y, m.x, m.y], points: [[m.x, m.y]] });
    return { mode: { type: "idle" }, edit: { type: "create", insts: [inst], name: "draw point" }, select: [inst.key] };
  },
};
