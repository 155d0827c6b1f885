// @ts-check
// Pointer and keyboard of the grid, turned into intents (click at a position, open, hover, a key
// command). Keys typed in the gallery never reach JupyterLab; keys typed in the toolbar's inputs
// are left to them.

import { keyCommand } from "./keys.js";
import { moveRows } from "./grid.js";

/** @typedef {import("./types.js").Pos} Pos */
/** @typedef {import("./types.js").ClickMods} ClickMods */
/** @typedef {import("./keys.js").KeyCommand} KeyCommand */
/** @typedef {import("./view.js").GridView} GridView */

/**
 * @typedef {object} Intents
 * @property {(p: Pos, mods: ClickMods) => void} click a click on a cell
 * @property {(p: Pos) => void} open a double click on a cell
 * @property {(p: Pos) => void} hover the pointer is over p (-1: a gap), at most once a frame
 * @property {(c: KeyCommand, mods: ClickMods) => void} key a key the grid uses
 * @property {() => {focus: Pos, n: number} | null} grid the focus and item count (null: nothing loaded)
 */

/**
 * Listen on the grid's root and scroller; returns the function that stops listening.
 * @param {HTMLElement} root the focusable widget root
 * @param {GridView} view
 * @param {Intents} on
 * @returns {() => void}
 */
export function bindInput(root, view, on) {
  const scroller = view.scroller;
  /** @type {[EventTarget, string, (e: any) => void][]} */
  const bound = [];
  /**
   * @template {Event} E
   * @param {EventTarget} target
   * @param {string} type
   * @param {(e: E) => void} f
   */
  const listen = (target, type, f) => {
    target.addEventListener(type, /** @type {EventListener} */ (f));
    bound.push([target, type, f]);
  };
  /** @param {MouseEvent | KeyboardEvent} e */
  const mods = (e) => ({ shift: e.shiftKey, toggle: e.ctrlKey || e.metaKey });

  listen(scroller, "pointerdown", (/** @type {PointerEvent} */ e) => {
    e.preventDefault(); // no text selection / native drag; keep keyboard focus on the grid
    root.focus({ preventScroll: true });
  });
  listen(scroller, "click", (/** @type {MouseEvent} */ e) => {
    const p = view.posAt(e);
    if (p >= 0) on.click(p, mods(e));
  });
  listen(scroller, "dblclick", (/** @type {MouseEvent} */ e) => {
    const p = view.posAt(e);
    if (p >= 0) on.open(p);
  });
  let hoverRaf = 0;
  /** @type {MouseEvent | null} */
  let hoverEvt = null;
  listen(scroller, "mousemove", (/** @type {MouseEvent} */ e) => {
    hoverEvt = e;
    if (!hoverRaf) {
      hoverRaf = requestAnimationFrame(() => {
        hoverRaf = 0;
        if (hoverEvt) on.hover(view.posAt(hoverEvt));
      });
    }
  });
  listen(root, "keydown", (/** @type {KeyboardEvent} */ e) => {
    e.stopPropagation(); // never let JupyterLab act on keys typed in the gallery
    if (e.target !== root && e.target !== scroller) return; // typing in the toolbar
    const g = on.grid();
    if (!g) return;
    let c = keyCommand(e, { focus: g.focus, cols: view.L.cols, rowsPerPage: view.rowsPerPage, n: g.n });
    if (!c) return;
    if (view.L.slot && g.focus >= 0 && (e.key === "ArrowDown" || e.key === "ArrowUp")) { // rows of groups
      c = { move: moveRows(view.L, g.n, g.focus, e.key === "ArrowDown" ? 1 : -1) };
    }
    on.key(c, mods(e));
    e.preventDefault();
  });
  const stop = (/** @type {Event} */ e) => e.stopPropagation();
  listen(root, "keyup", stop);
  listen(root, "keypress", stop);

  return () => {
    if (hoverRaf) cancelAnimationFrame(hoverRaf);
    for (const [t, type, f] of bound) t.removeEventListener(type, f);
  };
}
