// @ts-check
// The renderer draws the state onto the canvas: a base layer (image + shapes, redrawn when they
// change) and the top layer (selection, hover, the drawing or band in progress) on every frame.
// During a pan / zoom gesture the shapes are not redrawn: the layer rendered at the last crisp frame
// (screen space, with a margin around the viewport) is drawn with one scaled drawImage.
import { drawInstances, drawSelection } from "./render.js";
import { normBox } from "./geometry.js";
import { View, layerPlacement } from "./view.js";
import { selected, visiblePreds, colorOfLabel, runColor, labelName, focusOf } from "./state.js";

const MARGIN = 0.25; // of the viewport's longest side, on every side of the cached layer

/** @param {HTMLCanvasElement} c */
const ctx2d = (c) => /** @type {CanvasRenderingContext2D} */ (c.getContext("2d"));

export class Renderer {
  /**
   * @param {object} o
   * @param {import("./state.js").State} o.state
   * @param {HTMLCanvasElement} o.canvas the visible canvas
   * @param {HTMLElement} o.stage its container (its size is the viewport)
   * @param {DOMStringMap} o.data the root's dataset (render timings, data-rendered)
   * @param {() => void} o.firstFrame after the first frame of a newly shown item
   * @param {(first: boolean) => void} o.resized after the viewport got a (new) size
   */
  constructor({ state, canvas, stage, data, firstFrame, resized }) {
    this.resized = resized;
    this.state = state;
    this.canvas = canvas;
    this.ctx = ctx2d(canvas);
    this.stage = stage;
    this.data = data;
    this.firstFrame = firstFrame;
    this.base = document.createElement("canvas");
    this.bctx = ctx2d(this.base);
    this.shapes = document.createElement("canvas"); // the shapes layer, reused during gestures
    this.sctx = ctx2d(this.shapes);
    this.vw = 0;
    this.vh = 0;
    this.dpr = 1;
    this.margin = 0;
    this.raf = 0;
    this.baseDirty = true;
    this.viewDirty = false;
    this.gesture = false;
    /** @type {{s: number, tx: number, ty: number} | null} */
    this.shapesView = null;
    /** @type {number | null} load start of an item whose first frame is still to come */
    this.loadT0 = null;
  }

  /** Match the canvases to the stage (after a resize of the page or the stage). */
  resize() {
    const w = this.stage.clientWidth, hh = this.stage.clientHeight;
    if (!w || !hh) return;
    const dpr = window.devicePixelRatio || 1;
    if (w === this.vw && hh === this.vh && dpr === this.dpr) return;
    const first = !this.vw;
    this.vw = w;
    this.vh = hh;
    this.dpr = dpr;
    for (const c of [this.canvas, this.base]) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(hh * dpr);
    }
    this.margin = Math.round(MARGIN * Math.max(w, hh));
    this.shapes.width = Math.round((w + 2 * this.margin) * dpr);
    this.shapes.height = Math.round((hh + 2 * this.margin) * dpr);
    this.shapesView = null;
    this.resized(first);
    this.request(true);
  }

  /** The viewport in CSS px. */
  size() {
    return { vw: this.vw, vh: this.vh };
  }

  /** Draw on the next animation frame; `base` when the image or the shapes changed. */
  request(base = false) {
    if (base) this.baseDirty = true;
    if (!this.raf) this.raf = requestAnimationFrame(() => { this.raf = 0; this.draw(); });
  }

  /** The view moved in a gesture (`still` false) or the gesture ended (crisp frame next). @param {boolean} moving */
  viewMoved(moving) {
    this.gesture = moving;
    if (moving) this.viewDirty = true;
    this.request(!moving);
  }

  /** The next frame with an image is the first of a new item (load started at t0). @param {number} t0 */
  expectFirstFrame(t0) {
    this.loadT0 = t0;
  }

  dispose() {
    if (this.raf) cancelAnimationFrame(this.raf);
    this.raf = 0;
  }

  draw() {
    if (!this.vw) this.resize();
    if (!this.vw) return;
    const t0 = performance.now();
    const img = this.state.image;
    const quick = !this.baseDirty && this.viewDirty && this.gesture && this.shapesView && img.bitmap;
    const full = this.baseDirty || (this.viewDirty && !quick);
    if (full) this.drawBase();
    else if (quick) this.drawQuick();
    this.baseDirty = this.viewDirty = false;
    const ctx = this.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.drawImage(this.base, 0, 0);
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    this.drawTop(ctx);
    const t1 = performance.now();
    if (full) this.data.renderMs = (t1 - t0).toFixed(1);
    else this.data.frameMs = (t1 - t0).toFixed(2);
    if (this.loadT0 != null && img.bitmap) {
      this.data.loadMs = (t1 - this.loadT0).toFixed(1);
      this.loadT0 = null;
      this.data.rendered = "1";
      this.firstFrame();
    }
  }

  /** The image at view `v` (brightness / contrast applied). @param {CanvasRenderingContext2D} ctx @param {View} v */
  drawImageLayer(ctx, v, quick = false) {
    const s = this.state, img = s.image, d = s.display;
    // while moving, a small preview is as good as the full image when the screen shows fewer pixels
    const low = quick && img.low && v.s * this.dpr <= img.lowScale * 1.25;
    const bm = low ? img.low : img.bitmap;
    if (!bm) return;
    const pixelated = v.s / img.scale > 1;
    ctx.imageSmoothingEnabled = !pixelated;
    if (!quick) {
      this.canvas.style.imageRendering = pixelated ? "pixelated" : "auto";
      this.data.pixelated = pixelated ? "1" : "0";
    }
    if (d.brightness !== 100 || d.contrast !== 100) ctx.filter = `brightness(${d.brightness}%) contrast(${d.contrast}%)`;
    // the bitmap is in display px; it covers the original W x H (overlays stay in original px)
    ctx.drawImage(bm, 0, 0, bm.width, bm.height, v.tx, v.ty, s.W * v.s, s.H * v.s);
    ctx.filter = "none";
  }

  drawBase() {
    const ctx = this.bctx, v = this.state.view;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.base.width, this.base.height);
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    this.shapesView = null;
    if (!this.state.image.bitmap) return;
    this.drawImageLayer(ctx, v);
    // the shapes go to their own layer (kept for quick gesture frames), then onto the base
    const m = this.margin, sc = this.sctx;
    sc.setTransform(1, 0, 0, 1, 0, 0);
    sc.clearRect(0, 0, this.shapes.width, this.shapes.height);
    sc.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    const lv = new View();
    Object.assign(lv, { s: v.s, tx: v.tx + m, ty: v.ty + m });
    this.drawShapes(sc, lv);
    this.shapesView = { s: v.s, tx: v.tx, ty: v.ty };
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.drawImage(this.shapes, -m * this.dpr, -m * this.dpr);
  }

  /** A gesture frame: the image at the current view + the cached shapes layer scaled into place. */
  drawQuick() {
    const ctx = this.bctx, v = this.state.view, ov = /** @type {{s: number, tx: number, ty: number}} */ (this.shapesView), dpr = this.dpr;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.base.width, this.base.height);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    this.drawImageLayer(ctx, v, true);
    const [dx, dy, k] = layerPlacement(v, ov, this.margin, dpr);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(this.shapes, dx, dy, this.shapes.width * k, this.shapes.height * k);
  }

  /** Ground truth (not the selection: it is on top), predictions, the review focus. @param {CanvasRenderingContext2D} ctx @param {View} v */
  drawShapes(ctx, v) {
    const s = this.state;
    /** @param {import("./types.js").Inst} i */
    const color = (i) => colorOfLabel(s, i.label_id);
    if (s.display.showGT) {
      const list = [];
      for (const i of s.inst.values()) if (i.kind !== "tag" && !s.sel.has(i.key)) list.push(i);
      drawInstances(ctx, v, list, {
        colorOf: color, fillAlpha: 0.08, lineWidth: 1.5, labels: s.labelById,
        text: list.length <= 150 ? (i) => labelName(s, i.label_id) : null,
      });
    }
    const preds = visiblePreds(s);
    if (preds.length) {
      drawInstances(ctx, v, preds, {
        colorOf: (p) => runColor(s, p.run), dashed: true, lineWidth: 1.5, labels: s.labelById,
        text: (p) => (p.score == null ? "" : p.score.toFixed(2)),
      });
    }
    const f = s.queueMode === "review" && focusOf(s);
    if (f && f.box) {
      ctx.strokeStyle = "#ffeb3b";
      ctx.setLineDash([2, 3]);
      ctx.lineWidth = 1;
      const [x0, y0] = v.toScreen(f.box[0], f.box[1]), [x1, y1] = v.toScreen(f.box[2], f.box[3]);
      ctx.strokeRect(x0 - 6, y0 - 6, x1 - x0 + 12, y1 - y0 + 12);
      ctx.setLineDash([]);
    }
  }

  /** Selection, hover, and the mode in progress (drawing, rubber band). @param {CanvasRenderingContext2D} ctx */
  drawTop(ctx) {
    const s = this.state, v = s.view;
    const sel = selected(s);
    if (sel.length) {
      drawInstances(ctx, v, sel, {
        colorOf: (i) => colorOfLabel(s, i.label_id), fillAlpha: 0.2, lineWidth: 2.5, labels: s.labelById,
        text: (i) => labelName(s, i.label_id),
      });
      for (const i of sel) drawSelection(ctx, v, i, colorOfLabel(s, i.label_id), s.selVertex && s.selVertex.key === i.key ? s.selVertex : null);
    }
    if (s.hover && !s.sel.has(s.hover.key) && s.inst.has(s.hover.key)) {
      drawInstances(ctx, v, [s.hover], { colorOf: () => "#ffffff", lineWidth: 1, labels: s.labelById });
    }
    for (const p of [s.selPred, s.hoverPred]) {
      if (p && !p.hidden) drawInstances(ctx, v, [p], { colorOf: () => "#ffffff", dashed: true, lineWidth: p === s.selPred ? 2.5 : 1, labels: s.labelById });
    }
    drawMode(ctx, v, s.mode.type === "pan" ? s.mode.resume : s.mode, colorOfLabel(s, s.labelId), s);
  }
}

/**
 * The drawing or rubber band in progress.
 * @param {CanvasRenderingContext2D} ctx @param {View} v @param {import("./types.js").Mode} m @param {string} color
 * @param {import("./state.js").State} s
 */
function drawMode(ctx, v, m, color, s) {
  ctx.strokeStyle = color;
  ctx.fillStyle = color;
  ctx.lineWidth = 2;
  if (m.type === "draw_box") {
    const b = normBox(m.x0, m.y0, m.x1, m.y1);
    const [x0, y0] = v.toScreen(b[0], b[1]);
    ctx.setLineDash([5, 3]);
    ctx.strokeRect(x0, y0, (b[2] - b[0]) * v.s, (b[3] - b[1]) * v.s);
    ctx.setLineDash([]);
  } else if (m.type === "draw_path") {
    ctx.beginPath();
    m.pts.forEach((p, i) => { const [x, y] = v.toScreen(p[0], p[1]); i ? ctx.lineTo(x, y) : ctx.moveTo(x, y); });
    const [cx, cy] = v.toScreen(m.cursor[0], m.cursor[1]);
    ctx.lineTo(cx, cy);
    ctx.stroke();
    m.pts.forEach((p, i) => {
      const [x, y] = v.toScreen(p[0], p[1]);
      const r = i === 0 && m.kind === "polygon" ? 5 : 3;
      ctx.fillRect(x - r, y - r, 2 * r, 2 * r);
    });
  } else if (m.type === "draw_keypoints") {
    const pl = m.placer;
    const tmp = { kind: "keypoints", label_id: s.labelId, points: pl.points.slice(0, pl.next) };
    drawInstances(ctx, v, [tmp], { colorOf: () => color, lineWidth: 2, labels: s.labelById });
    if (pl.nextName) {
      const [x, y] = v.toScreen(m.cursor[0], m.cursor[1]);
      const t = pl.nextName + (pl.pendingV === 1 ? " (not visible)" : "");
      ctx.font = "12px sans-serif";
      ctx.fillStyle = "rgba(0,0,0,.7)";
      ctx.fillRect(x + 10, y + 4, ctx.measureText(t).width + 6, 16);
      ctx.fillStyle = "#fff";
      ctx.textBaseline = "top";
      ctx.fillText(t, x + 13, y + 6);
    }
  } else if (m.type === "band") {
    const b = normBox(m.x0, m.y0, m.x1, m.y1);
    const [x0, y0] = v.toScreen(b[0], b[1]);
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = 1;
    ctx.setLineDash([4, 3]);
    ctx.strokeRect(x0, y0, (b[2] - b[0]) * v.s, (b[3] - b[1]) * v.s);
    ctx.setLineDash([]);
  }
}
