// @ts-check
// Keyboard input on the widget: keys become actions (hotkeys.js) for `dispatch`; inputs keep their
// keys; host shortcuts (run cell, save) pass through; nothing else reaches JupyterLab.
import { keyName, resolveKey, PASS_THROUGH } from "./hotkeys.js";
import { isTyping } from "./common.js";
import { openDrawing } from "./state.js";

/**
 * @param {object} o
 * @param {import("./state.js").State} o.state
 * @param {HTMLElement} o.root
 * @param {(a: import("./hotkeys.js").Action) => void} o.dispatch
 * @param {() => void} o.input count activity
 * @param {(held: boolean) => void} o.space Space pressed / released (pan with the left button)
 */
export function keyHandlers({ state, root, dispatch, input, space }) {
  /** @param {KeyboardEvent} e */
  const down = (e) => {
    const key = keyName(e);
    if (PASS_THROUGH.has(key)) return; // run cell / save notebook stay with the host
    e.stopPropagation(); // never let JupyterLab command-mode shortcuts see keys typed in the widget
    input();
    if (isTyping(e.target)) {
      if (key === "Escape") { e.preventDefault(); root.focus({ preventScroll: true }); }
      return; // inputs keep their keys
    }
    if (key === "Space") { e.preventDefault(); space(true); return; }
    const d = openDrawing(state.mode);
    const ctx = { drawing: d ? (d.type === "draw_path" ? d.kind : "keypoints") : null, hasSelection: state.sel.size > 0, mode: state.queueMode, labelKeys: state.labelKeys };
    let a = resolveKey(key, ctx);
    // before the first keypoint is placed, V / N pre-mark the first point(s)
    if (!ctx.drawing && state.tool === "keypoints" && (key === "V" || key === "N")) a = { action: key === "V" ? "kp_pre_nv" : "kp_pre_skip" };
    if (!a) {
      // unhandled plain characters do nothing (no find-as-you-type); browser combos (Ctrl+R, Ctrl+F) stay
      if (e.key.length === 1 && !e.ctrlKey && !e.metaKey) e.preventDefault();
      return;
    }
    e.preventDefault();
    dispatch(a);
  };
  /** @param {KeyboardEvent} e */
  const up = (e) => {
    if (PASS_THROUGH.has(keyName(e))) return;
    e.stopPropagation();
    if (e.key === " " || e.key === "Spacebar") space(false);
  };
  /** @param {KeyboardEvent} e */
  const press = (e) => { if (!PASS_THROUGH.has(keyName(e))) e.stopPropagation(); };
  return { down, up, press };
}
