// @ts-check
// The view of the image: fit (or the review focus), zoom, pan. View changes during a gesture get
// quick frames; a crisp render follows once the view has been still for SETTLE_MS.
import { focusOf } from "./state.js";

export const SETTLE_MS = 120;

export class Viewport {
  /**
   * @param {object} o
   * @param {import("./state.js").State} o.state
   * @param {{size: () => {vw: number, vh: number}, viewMoved: (moving: boolean) => void, request: (base?: boolean) => void}} o.renderer
   * @param {DOMStringMap} o.data the root's dataset (data-gesture)
   * @param {() => void} o.changed after the view changed (mirror data-zoom / data-view)
   */
  constructor({ state, renderer, data, changed }) {
    this.state = state;
    this.renderer = renderer;
    this.data = data;
    this.changed = changed;
    /** the user zoomed or panned since the last fit (a resize keeps their view) */
    this.userMoved = false;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.settleTimer = undefined;
  }

  /** Fit the image (in review mode: the focus box) into the viewport. */
  fit() {
    const s = this.state, { vw, vh } = this.renderer.size();
    if (!s.item || !vw) return;
    this.userMoved = false;
    if (s.queueMode === "review" && this.fitFocus()) return;
    s.view.fit(s.W, s.H, vw, vh, 4);
    this.changed();
  }

  /** Zoom to the review focus with a margin; false when there is none. */
  fitFocus() {
    const s = this.state, { vw, vh } = this.renderer.size();
    const f = focusOf(s);
    if (!f || !f.box || !s.item || !vw) return false;
    const b = f.box, mw = (b[2] - b[0]) * 0.5 + 10, mh = (b[3] - b[1]) * 0.5 + 10;
    s.view.fitBox([b[0] - mw, b[1] - mh, b[2] + mw, b[3] + mh], vw, vh, 4);
    this.changed();
    return true;
  }

  /** The viewport was resized: refit unless the user moved the view. @param {boolean} first */
  resized(first) {
    if (first || !this.userMoved) this.fit();
  }

  /** @param {number} sx @param {number} sy @param {number} factor */
  zoomAt(sx, sy, factor) {
    this.state.view.zoomAt(sx, sy, factor);
    this.moved();
  }

  /** Zoom by `factor` around the viewport's centre. @param {number} factor */
  zoomCentre(factor) {
    const { vw, vh } = this.renderer.size();
    this.zoomAt(vw / 2, vh / 2, factor);
  }

  /** One image pixel per screen pixel, around the centre. */
  oneToOne() {
    const { vw, vh } = this.renderer.size();
    this.state.view.zoomTo(vw / 2, vh / 2, 1);
    this.userMoved = true;
    this.changed();
    this.renderer.request(true);
  }

  /** @param {number} tx @param {number} ty */
  panTo(tx, ty) {
    this.state.view.tx = tx;
    this.state.view.ty = ty;
    this.moved();
  }

  /** The view moved in a gesture (wheel, pan): quick frames from the cached shapes, crisp when still. */
  moved() {
    this.userMoved = true;
    this.changed();
    this.data.gesture = "1";
    clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => {
      this.data.gesture = "0";
      this.renderer.viewMoved(false);
    }, SETTLE_MS);
    this.renderer.viewMoved(true);
  }

  dispose() {
    clearTimeout(this.settleTimer);
  }
}
