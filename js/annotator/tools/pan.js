// @ts-check
// Pan: middle button, or the left button while Space is held, from any mode; the release returns to
// the mode the pan interrupted (e.g. a polygon being drawn).

/** @typedef {import("../state.js").State} State */

/**
 * @param {State} s @param {import("../types.js").PointerCtx} c @returns {import("../types.js").Step}
 */
export function startPan(s, c) {
  return { mode: { type: "pan", sx: c.sx, sy: c.sy, tx: s.view.tx, ty: s.view.ty, resume: s.mode } };
}

/** @type {import("../types.js").Tool} */
export const panGesture = {
  move(s, c) {
    const m = s.mode;
    if (m.type !== "pan") return null;
    return { pan: { tx: m.tx + (c.sx - m.sx), ty: m.ty + (c.sy - m.sy) } };
  },
  up(s) {
    const m = s.mode;
    if (m.type !== "pan") return null;
    return { mode: m.resume };
  },
};
