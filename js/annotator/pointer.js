// @ts-check
// Pointer input on the canvas: turns DOM events into the tools' PointerCtx, hands them to the tool
// that owns the current mode (tools/index.js) and gives the Step it returns to `run`. Also the
// wheel zoom and the hover highlight / cursor when no gesture is in progress.
import { clamp, hitTest, hitHandle, pointInBox } from "./geometry.js";
import { HANDLE_CURSOR, TOL } from "./common.js";
import { gtList, visiblePreds, single } from "./state.js";
import { toolFor } from "./tools/index.js";
import { startPan } from "./tools/pan.js";

/** @typedef {import("./types.js").Step} Step */

export class Pointer {
  /**
   * @param {object} o
   * @param {import("./state.js").State} o.state
   * @param {HTMLCanvasElement} o.canvas
   * @param {(step: Step) => void} o.run apply a tool's step
   * @param {() => void} o.beforeDown focus the widget, commit an open nudge, count activity
   * @param {() => void} o.input count activity
   * @param {(sx: number, sy: number, factor: number) => void} o.zoomAt
   * @param {() => void} o.redraw the top layer (hover changed)
   */
  constructor({ state, canvas, run, beforeDown, input, zoomAt, redraw }) {
    this.state = state;
    this.canvas = canvas;
    this.run = run;
    this.beforeDown = beforeDown;
    this.input = input;
    this.zoomAt = zoomAt;
    this.redraw = redraw;
  }

  /** @param {MouseEvent} e @returns {import("./types.js").PointerCtx} */
  ctx(e) {
    const s = this.state;
    const r = this.canvas.getBoundingClientRect();
    const sx = e.clientX - r.left, sy = e.clientY - r.top;
    const [ux, uy] = s.view.toImage(sx, sy);
    const x = s.item ? clamp(ux, 0, s.W) : ux, y = s.item ? clamp(uy, 0, s.H) : uy;
    return { x, y, ux, uy, sx, sy, tol: TOL / s.view.s, shift: e.shiftKey, alt: e.altKey };
  }

  /** @param {PointerEvent} e */
  down(e) {
    e.preventDefault(); // no text selection, no native drag
    this.beforeDown();
    const s = this.state;
    if (!s.item) return;
    try { this.canvas.setPointerCapture(e.pointerId); } catch (_) { /* synthetic events */ }
    const c = this.ctx(e);
    if (e.button === 1 || (e.button === 0 && s.spaceHeld)) {
      this.run(startPan(s, c));
      this.canvas.style.cursor = "grabbing";
      return;
    }
    if (e.button !== 0) return;
    const tool = toolFor(s);
    const step = tool.down ? tool.down(s, c) : null;
    if (step) this.run(step);
  }

  /** @param {PointerEvent} e */
  move(e) {
    const s = this.state;
    if (s.mode.type !== "idle") {
      this.input();
      const tool = toolFor(s);
      const step = tool.move ? tool.move(s, this.ctx(e)) : null;
      if (step) this.run(step);
      return;
    }
    if (s.item) this.hoverAt(this.ctx(e));
  }

  /** @param {PointerEvent} e @param {boolean} cancelled */
  up(e, cancelled) {
    try { this.canvas.releasePointerCapture(e.pointerId); } catch (_) { /* not captured */ }
    const s = this.state;
    if (s.mode.type === "idle") return;
    const tool = toolFor(s);
    const step = tool.up ? tool.up(s, this.ctx(e), cancelled) : null;
    if (step) this.run(step);
  }

  /** @param {WheelEvent} e */
  wheel(e) {
    e.preventDefault();
    e.stopPropagation();
    const c = this.ctx(e);
    const dy = e.deltaMode === 1 ? e.deltaY * 30 : e.deltaY;
    this.zoomAt(c.sx, c.sy, Math.exp(-dy * 0.0015));
  }

  /** Highlight what is under the pointer and show what a drag would do. @param {import("./types.js").PointerCtx} c */
  hoverAt(c) {
    const s = this.state;
    const x = c.ux, y = c.uy;
    const hit = hitTest(gtList(s), x, y, c.tol);
    const ph = hit ? null : hitTest(visiblePreds(s), x, y, c.tol);
    if (hit !== s.hover || ph !== s.hoverPred) {
      s.hover = hit;
      s.hoverPred = ph;
      this.redraw();
    }
    let cur = s.spaceHeld ? "grab" : s.tool === "select" ? "default" : "crosshair";
    const one = single(s);
    if (one && one.kind === "box" && one.box && (s.tool === "select" || s.tool === "box")) {
      const hd = hitHandle(one.box, x, y, c.tol);
      if (hd) cur = HANDLE_CURSOR[hd];
      else if (pointInBox(x, y, one.box)) cur = "move";
    } else if (hit && s.sel.has(hit.key)) cur = "move";
    this.canvas.style.cursor = cur;
  }
}
