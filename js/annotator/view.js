// @ts-check
// View transform: screen (CSS px inside the canvas) <-> original image px, plus display_scale mapping.

/** Original px -> displayed-bitmap px (display_scale = display px per original px). */
/** @param {number} v @param {number} displayScale */
export const origToDisplay = (v, displayScale) => v * displayScale;
/** Displayed-bitmap px -> original px. */
/** @param {number} v @param {number} displayScale */
export const displayToOrig = (v, displayScale) => v / displayScale;

export class View {
  constructor() {
    this.s = 1; // screen px per original px
    this.tx = 0;
    this.ty = 0;
    this.minS = 1e-3;
    this.maxS = 64;
  }
  /** @param {number} x @param {number} y @returns {[number, number]} */
  toScreen(x, y) {
    return [x * this.s + this.tx, y * this.s + this.ty];
  }
  /** @param {number} sx @param {number} sy @returns {[number, number]} */
  toImage(sx, sy) {
    return [(sx - this.tx) / this.s, (sy - this.ty) / this.s];
  }
  /** Zoom by `factor` keeping the image point under screen (sx, sy) fixed. @param {number} sx @param {number} sy @param {number} factor */
  zoomAt(sx, sy, factor) {
    const [ix, iy] = this.toImage(sx, sy);
    this.s = Math.max(this.minS, Math.min(this.maxS, this.s * factor));
    this.tx = sx - ix * this.s;
    this.ty = sy - iy * this.s;
  }
  /** Set the zoom to an absolute scale around screen point (sx, sy). @param {number} sx @param {number} sy @param {number} s */
  zoomTo(sx, sy, s) {
    this.zoomAt(sx, sy, s / this.s);
  }
  /** @param {number} dx @param {number} dy */
  pan(dx, dy) {
    this.tx += dx;
    this.ty += dy;
  }
  /**
   * Fit box [x0,y0,x1,y1] (image px) into a viewport vw x vh with `pad` screen px margin.
   * @param {number[]} b @param {number} vw @param {number} vh @param {number} [pad] @param {number} [maxS]
   */
  fitBox(b, vw, vh, pad = 0, maxS = Infinity) {
    const w = Math.max(1e-6, b[2] - b[0]), h = Math.max(1e-6, b[3] - b[1]);
    this.s = Math.min((vw - 2 * pad) / w, (vh - 2 * pad) / h, maxS);
    if (!(this.s > 0)) this.s = 1;
    this.tx = (vw - w * this.s) / 2 - b[0] * this.s;
    this.ty = (vh - h * this.s) / 2 - b[1] * this.s;
  }
  /** @param {number} imgW @param {number} imgH @param {number} vw @param {number} vh @param {number} [pad] */
  fit(imgW, imgH, vw, vh, pad = 0) {
    this.fitBox([0, 0, imgW, imgH], vw, vh, pad);
  }
}

/**
 * Where to draw a layer rendered at view `at` (screen space, `margin` CSS px around the viewport,
 * `dpr` device px per CSS px) so it lines up with view `now`: [dx, dy, k] in device px, k the scale.
 * @param {{s: number, tx: number, ty: number}} now @param {{s: number, tx: number, ty: number}} at
 * @param {number} margin @param {number} dpr @returns {[number, number, number]}
 */
export function layerPlacement(now, at, margin, dpr) {
  const k = now.s / at.s;
  return [dpr * (now.tx - k * (at.tx + margin)), dpr * (now.ty - k * (at.ty + margin)), k];
}
