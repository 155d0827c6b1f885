// @ts-check
// The select tool: click selects (Shift toggles), a drag on a selected instance moves the selection,
// a click on a prediction selects it, a drag on empty image is a rubber band.
import { hitTest } from "../geometry.js";
import { gtList, visiblePreds } from "../state.js";
import { grab, startMove } from "./gestures.js";

/** @type {import("../types.js").Tool} */
export const selectTool = {
  down(s, c) {
    const g = grab(s, c);
    if (g) return g;
    const hit = hitTest(gtList(s), c.x, c.y, c.tol);
    if (hit) {
      if (c.shift) {
        const keys = new Set(s.sel);
        if (keys.has(hit.key)) keys.delete(hit.key);
        else keys.add(hit.key);
        return { select: [...keys] };
      }
      if (s.sel.has(hit.key)) return startMove(s, c);
      return { ...startMove(s, c, [hit.key]), select: [hit.key] };
    }
    const ph = hitTest(visiblePreds(s), c.x, c.y, c.tol);
    if (ph) return { ...(s.sel.size ? { select: [] } : {}), selPred: ph, redraw: true };
    return {
      mode: { type: "band", x0: c.x, y0: c.y, x1: c.x, y1: c.y, base: new Set(c.shift ? s.sel : []) },
      ...(!c.shift && s.sel.size ? { select: [] } : {}), selPred: null, redraw: true,
    };
  },
};
