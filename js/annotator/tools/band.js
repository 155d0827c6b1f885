// @ts-check
// Rubber band: a drag on empty image with the select tool selects the ground truth inside it
// (Shift adds to the selection the band started with).
import { normBox, inRect } from "../geometry.js";
import { gtList } from "../state.js";

/** @type {import("../types.js").Tool} */
export const bandGesture = {
  move(s, c) {
    const m = s.mode;
    if (m.type !== "band") return null;
    return { mode: { ...m, x1: c.x, y1: c.y }, redraw: true };
  },
  up(s, c, cancelled) {
    const m = s.mode;
    if (m.type !== "band") return null;
    if (cancelled) return { mode: { type: "idle" }, redraw: true };
    const inside = inRect(gtList(s), normBox(m.x0, m.y0, m.x1, m.y1)).map((i) => i.key);
    return { mode: { type: "idle" }, select: [...new Set([...m.base, ...inside])] };
  },
};
