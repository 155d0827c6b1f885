// @ts-check
// Mirror the state into the root's data-* attributes (for tests, benchmarks and CSS) and into the
// bars' small texts. Only what changed is written, so it is cheap to call after every change.
import { drawingOf, visiblePreds } from "./state.js";

/**
 * @template {object} T @param {T} o @param {keyof T} k @param {any} v
 */
const put = (o, k, v) => { if (o[k] !== v) o[k] = v; };

/**
 * @param {import("./layout.js").Dom} dom
 * @param {import("./state.js").State} s
 * @param {{state: string, pending: number, error: string | null, canUndo: boolean, canRedo: boolean}} info
 *   save state (pending includes an uncommitted nudge) and the undo stack
 */
export function mirror(dom, s, info) {
  const d = dom.root.dataset;
  put(d, "tool", s.tool);
  put(d, "label", s.labelId == null ? "" : String(s.labelId));
  put(d, "ninstances", String(s.inst.size));
  put(d, "npredictions", String(visiblePreds(s).length));
  put(d, "selected", String(s.sel.size));
  const st = info.state === "saved" && info.pending ? "saving" : info.state;
  put(d, "saveState", st);
  put(d, "pending", String(info.pending));
  put(d, "zoom", s.view.s.toFixed(4));
  put(d, "view", `${s.view.s},${s.view.tx},${s.view.ty}`);
  put(d, "drawing", drawingOf(s.mode));
  put(d, "tags", [...s.tags].join(","));
  put(d, "mode", s.queueMode || "label");
  put(dom.saveSpan.dataset, "state", st);
  put(dom.saveSpan, "textContent", st === "failed" ? "failed – retrying" : st === "saving" ? `saving (${info.pending})` : "saved");
  if (st === "failed" && info.error) put(dom.saveSpan, "title", info.error);
  put(dom.zoomText, "textContent", Math.round(s.view.s * 100) + "%");
  put(dom.undoBtn, "disabled", !info.canUndo);
  put(dom.redoBtn, "disabled", !info.canRedo);
  put(dom.canvas.style, "cursor", s.spaceHeld ? "grab" : s.tool === "select" ? "default" : "crosshair");
}

/**
 * The queue bar: position, completed count.
 * @param {import("./layout.js").Dom} dom @param {number | null} index @param {number} total @param {number} completed
 */
export function mirrorQueue(dom, index, total, completed) {
  dom.posText.textContent = index == null ? "" : `${index + 1} of ${total}`;
  dom.doneText.textContent = `completed: ${completed}`;
  dom.root.dataset.total = String(total);
}
