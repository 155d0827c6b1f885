// @ts-check
// The grid's surface: one canvas under a transparent scroller that owns the scrollbar, the wheel and
// the clicks, so the DOM has the same few elements for 10 or 100,000 items. It keeps the layout, the
// canvas size, the frame scheduling (one requestAnimationFrame at a time) and the scroll speed; what
// a frame draws is the caller's `onFrame`.

import { h } from "../shared/dom.js";
import { layout, visibleRange, hitTest, scrollToShow, rowOf } from "./grid.js";

/** @typedef {import("./types.js").Pos} Pos */
/** @typedef {import("./types.js").Item} Item */
/** @typedef {ReturnType<typeof layout>} Layout */

const SETTLE_MS = 120; // a fast scroll has ended this long after its last event

export class GridView {
  /**
   * @param {object} o
   * @param {number} o.size thumbnail size, px
   * @param {() => void} o.onFrame draws a frame (called from requestAnimationFrame)
   * @param {() => void} o.onSettle a fast scroll slowed down: fetch what is on screen now
   */
  constructor({ size, onFrame, onSettle }) {
    this.canvas = /** @type {HTMLCanvasElement} */ (h("canvas", { cls: "nbl-g-canvas" }));
    const ctx = this.canvas.getContext("2d");
    if (!ctx) throw new Error("the gallery needs a 2d canvas");
    this.ctx = ctx;
    this.spacer = h("div", { cls: "nbl-g-spacer" });
    this.scroller = h("div", { cls: "nbl-g-scroller" }, [this.spacer]);
    this.el = h("div", { cls: "nbl-g-stage" }, [this.canvas, this.scroller]);
    this.onFrame = onFrame;
    this.onSettle = onSettle;
    this.n = 0;
    this.size = size;
    /** row breaks by view position (groups), or null @type {Uint8Array | null} */
    this.starts = null;
    /** @type {Layout} */
    this.L = layout(0, 600, size);
    this.viewW = 0;
    this.viewH = 0;
    this.dpr = 1;
    this.raf = 0;
    this.disposed = false;
    /** ellipsized captions by item, for this layout @type {Map<Item, string>} */
    this.captions = new Map();
    // While the grid flies past (scrollbar drag, fling), thumbnails of rows on screen for a frame or
    // two are not worth fetching and decoding: `fast` holds until the scroll slows down.
    this.fast = false;
    this.lastTop = 0;
    this.lastT = 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.settle = undefined;
    this._onScroll = () => this.scrolled();
    this.scroller.addEventListener("scroll", this._onScroll, { passive: true });
    this.ro = new ResizeObserver(() => this.resize());
    this.ro.observe(this.scroller);
  }

  get top() {
    return this.scroller.scrollTop;
  }

  /** Rows that fit on screen (at least 1). */
  get rowsPerPage() {
    return Math.max(1, Math.floor(this.viewH / this.L.cellH));
  }

  /** Follow the scroller's size (and the device pixel ratio). */
  resize() {
    this.viewW = this.scroller.clientWidth;
    this.viewH = this.scroller.clientHeight;
    this.dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.max(1, Math.round(this.viewW * this.dpr));
    this.canvas.height = Math.max(1, Math.round(this.viewH * this.dpr));
    this.canvas.style.width = `${this.viewW}px`;
    this.canvas.style.height = `${this.viewH}px`;
    this.relayout(this.n, this.size);
  }

  /**
   * Lay out n items of the given size; the first item on screen stays on screen.
   * @param {number} n
   * @param {number} size
   */
  relayout(n, size) {
    const had = this.n > 0 && this.L.cols;
    const oldTop = had ? visibleRange(this.L, this.n, this.scroller.scrollTop, 0).first : 0;
    this.n = n;
    this.size = size;
    this.L = layout(n, this.viewW || 600, size, undefined, undefined, this.starts);
    this.spacer.style.height = `${this.L.height}px`;
    if (n > 0) this.scroller.scrollTop = rowOf(this.L, Math.min(oldTop, n - 1)) * this.L.cellH;
    this.captions.clear();
    this.schedule();
  }

  /**
   * Start a new row at each flagged view position (groups), or nowhere (null); lays out again.
   * @param {Uint8Array | null} starts
   */
  setStarts(starts) {
    this.starts = starts;
    this.relayout(this.n, this.size);
  }

  schedule() {
    if (!this.raf && !this.disposed) {
      this.raf = requestAnimationFrame(() => {
        this.raf = 0;
        if (!this.disposed) this.onFrame();
      });
    }
  }

  /**
   * View positions [first, last) on screen, widened by `margin` rows above and below.
   * @param {number} [margin]
   */
  range(margin = 0) {
    return visibleRange(this.L, this.n, this.scroller.scrollTop, this.viewH, margin);
  }

  /**
   * The view position under a pointer event, or -1.
   * @param {{clientX: number, clientY: number}} e
   * @returns {Pos}
   */
  posAt(e) {
    const b = this.scroller.getBoundingClientRect();
    return hitTest(this.L, this.n, e.clientX - b.left, e.clientY - b.top + this.scroller.scrollTop);
  }

  /**
   * Scroll (only as much as needed) so position p is fully on screen.
   * @param {Pos} p
   */
  show(p) {
    this.scroller.scrollTop = scrollToShow(this.L, p, this.scroller.scrollTop, this.viewH);
  }

  scrolled() {
    const now = performance.now(), top = this.scroller.scrollTop;
    const speed = Math.abs(top - this.lastTop) / Math.max(1, now - this.lastT); // px per ms
    this.lastTop = top;
    this.lastT = now;
    if (speed > Math.max(1, this.viewH) / 150) { // more than a screen in 150 ms
      this.fast = true;
      clearTimeout(this.settle);
      this.settle = setTimeout(() => {
        this.fast = false;
        this.onSettle();
      }, SETTLE_MS);
    }
    this.schedule();
  }

  dispose() {
    this.disposed = true;
    if (this.raf) cancelAnimationFrame(this.raf);
    clearTimeout(this.settle);
    this.ro.disconnect();
    this.scroller.removeEventListener("scroll", this._onScroll);
  }
}
