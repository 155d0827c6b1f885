// View fitting and rendering: the image + shapes layer (cached during pan/zoom gestures) and the top layer.
// Methods of Annotator (app.js mixes them into its prototype; `this` is the widget).
import { drawInstances, drawSelection } from "./render.js";
import { normBox } from "./geometry.js";
import { View, layerPlacement } from "./view.js";

// During a pan / zoom gesture the shapes are not redrawn: the layer rendered at the last crisp frame
// (screen space, with a margin around the viewport) is drawn with one scaled drawImage, and a crisp
// render follows once the gesture has been still for SETTLE_MS.
export const SETTLE_MS = 120;
const MARGIN = 0.25; // of the viewport's longest side, on every side of the cached layer

export const LayersMethods = {
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
    if (first || !this.userMoved) this.fitView();
    this.requestDraw(true);
  },

  fitView() {
    if (!this.item || !this.vw) return;
    this.userMoved = false;
    if (this.model.get("mode") === "review" && this.fitFocus()) return;
    this.view.fit(this.W, this.H, this.vw, this.vh, 4);
    this.sync();
  },

  /** The review focus of the current item (item.focus wins over the synced trait). */
  focus() {
    if (this.item && this.item.focus !== undefined) return this.item.focus;
    return this.model.get("focus");
  },

  fitFocus() {
    const f = this.focus();
    if (!f || !f.box || !this.item || !this.vw) return false;
    const b = f.box, mw = (b[2] - b[0]) * 0.5 + 10, mh = (b[3] - b[1]) * 0.5 + 10;
    this.view.fitBox([b[0] - mw, b[1] - mh, b[2] + mw, b[3] + mh], this.vw, this.vh, 4);
    this.sync();
    return true;
  },

  zoomAt(sx, sy, factor) {
    this.view.zoomAt(sx, sy, factor);
    this.userMoved = true;
    this.sync();
    this.viewChanged();
  },

  /** The view moved in a gesture (wheel, pan): quick frames from the cached shapes, crisp when still. */
  viewChanged() {
    this.gesture = true;
    this.viewDirty = true;
    this.root.dataset.gesture = "1";
    clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => {
      this.gesture = false;
      this.root.dataset.gesture = "0";
      this.requestDraw(true);
    }, SETTLE_MS);
    this.requestDraw();
  },

  requestDraw(base = false) {
    if (base) this.baseDirty = true;
    if (!this.raf) this.raf = requestAnimationFrame(() => { this.raf = 0; this.draw(); });
  },

  visiblePreds() {
    return this.preds.filter((p) => !p.hidden && !this.hiddenRuns.has(p.run || "") && (p.score == null || p.score >= this.threshold));
  },

  topKeys() {
    return this.sel;
  },

  draw() {
    if (!this.vw) this.resize();
    if (!this.vw) return;
    const t0 = performance.now();
    const quick = !this.baseDirty && this.viewDirty && this.gesture && this.shapesView && this.bitmap;
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
    if (full) this.root.dataset.renderMs = (t1 - t0).toFixed(1);
    else this.root.dataset.frameMs = (t1 - t0).toFixed(2);
    if (this.pendingRendered && this.bitmap) {
      this.pendingRendered = false;
      this.root.dataset.loadMs = (t1 - (this.loadT0 || t0)).toFixed(1);
      this.root.dataset.rendered = "1";
      if (this.root.dataset.full === "1") setTimeout(() => this.prefetch(), 0);
    }
  },

  /** The image at the current view (brightness / contrast applied). */
  drawImageLayer(ctx, v, quick = false) {
    // while moving, a small preview is as good as the full image when the screen shows fewer pixels
    const low = quick && this.lowBitmap && v.s * this.dpr <= this.lowScale * 1.25;
    const bm = low ? this.lowBitmap : this.bitmap;
    const pixelated = v.s / this.displayScale > 1;
    ctx.imageSmoothingEnabled = !pixelated;
    if (!quick) {
      this.canvas.style.imageRendering = pixelated ? "pixelated" : "auto";
      this.root.dataset.pixelated = pixelated ? "1" : "0";
    }
    if (this.brightness !== 100 || this.contrast !== 100) ctx.filter = `brightness(${this.brightness}%) contrast(${this.contrast}%)`;
    // the bitmap is in display px; it covers the original W x H (overlays stay in original px)
    ctx.drawImage(bm, 0, 0, bm.width, bm.height, v.tx, v.ty, this.W * v.s, this.H * v.s);
    ctx.filter = "none";
  },

  drawBase() {
    const ctx = this.bctx, v = this.view;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.base.width, this.base.height);
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    this.shapesView = null;
    if (!this.bitmap) return;
    this.drawImageLayer(ctx, v);
    // the shapes go to their own layer (kept for quick gesture frames), then onto the base
    const m = this.margin || 0, sc = this.sctx;
    sc.setTransform(1, 0, 0, 1, 0, 0);
    sc.clearRect(0, 0, this.shapes.width, this.shapes.height);
    sc.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    const lv = new View();
    Object.assign(lv, { s: v.s, tx: v.tx + m, ty: v.ty + m });
    this.drawShapes(sc, lv);
    this.shapesView = { s: v.s, tx: v.tx, ty: v.ty };
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.drawImage(this.shapes, -m * this.dpr, -m * this.dpr);
  },

  /** A gesture frame: the image at the current view + the cached shapes layer scaled into place. */
  drawQuick() {
    const ctx = this.bctx, v = this.view, ov = this.shapesView, m = this.margin || 0, dpr = this.dpr;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.base.width, this.base.height);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    this.drawImageLayer(ctx, v, true);
    const [dx, dy, k] = layerPlacement(v, ov, m, dpr);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(this.shapes, dx, dy, this.shapes.width * k, this.shapes.height * k);
  },

  drawShapes(ctx, v) {
    const top = this.topKeys();
    if (this.showGT) {
      const list = [];
      for (const i of this.inst.values()) if (i.kind !== "tag" && !top.has(i.key)) list.push(i);
      drawInstances(ctx, v, list, {
        colorOf: (i) => this.colorOfLabel(i.label_id), fillAlpha: 0.08, lineWidth: 1.5, labels: this.labelById,
        text: list.length <= 150 ? (i) => (this.labelById.get(i.label_id) || {}).name || "" : null,
      });
    }
    const preds = this.visiblePreds();
    if (preds.length) {
      drawInstances(ctx, v, preds, {
        colorOf: (p) => this.runColor(p.run), dashed: true, lineWidth: 1.5, labels: this.labelById,
        text: (p) => (p.score == null ? "" : p.score.toFixed(2)),
      });
    }
    const f = this.model.get("mode") === "review" && this.focus();
    if (f && f.box) {
      ctx.strokeStyle = "#ffeb3b";
      ctx.setLineDash([2, 3]);
      ctx.lineWidth = 1;
      const [x0, y0] = v.toScreen(f.box[0], f.box[1]), [x1, y1] = v.toScreen(f.box[2], f.box[3]);
      ctx.strokeRect(x0 - 6, y0 - 6, x1 - x0 + 12, y1 - y0 + 12);
      ctx.setLineDash([]);
    }
  },

  drawTop(ctx) {
    const v = this.view;
    const sel = this.selected();
    if (sel.length) {
      drawInstances(ctx, v, sel, {
        colorOf: (i) => this.colorOfLabel(i.label_id), fillAlpha: 0.2, lineWidth: 2.5, labels: this.labelById,
        text: (i) => (this.labelById.get(i.label_id) || {}).name || "",
      });
      for (const i of sel) drawSelection(ctx, v, i, this.colorOfLabel(i.label_id), this.selVertex && this.selVertex.key === i.key ? this.selVertex : null);
    }
    if (this.hover && !this.sel.has(this.hover.key) && this.inst.has(this.hover.key)) {
      drawInstances(ctx, v, [this.hover], { colorOf: () => "#ffffff", lineWidth: 1, labels: this.labelById });
    }
    for (const p of [this.selPred, this.hoverPred]) {
      if (p && !p.hidden) drawInstances(ctx, v, [p], { colorOf: () => "#ffffff", dashed: true, lineWidth: p === this.selPred ? 2.5 : 1, labels: this.labelById });
    }
    const d = this.drawing;
    const color = this.colorOfLabel(this.labelId);
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.lineWidth = 2;
    if (d && d.type === "box") {
      const b = normBox(d.x0, d.y0, d.x1, d.y1);
      const [x0, y0] = v.toScreen(b[0], b[1]);
      ctx.setLineDash([5, 3]);
      ctx.strokeRect(x0, y0, (b[2] - b[0]) * v.s, (b[3] - b[1]) * v.s);
      ctx.setLineDash([]);
    } else if (d && (d.type === "polygon" || d.type === "line")) {
      ctx.beginPath();
      d.pts.forEach((p, i) => { const [x, y] = v.toScreen(p[0], p[1]); i ? ctx.lineTo(x, y) : ctx.moveTo(x, y); });
      if (d.cursor) { const [x, y] = v.toScreen(d.cursor[0], d.cursor[1]); ctx.lineTo(x, y); }
      ctx.stroke();
      d.pts.forEach((p, i) => {
        const [x, y] = v.toScreen(p[0], p[1]);
        const r = i === 0 && d.type === "polygon" ? 5 : 3;
        ctx.fillRect(x - r, y - r, 2 * r, 2 * r);
      });
    } else if (d && d.type === "keypoints") {
      const tmp = { kind: "keypoints", label_id: this.labelId, points: d.placer.points.slice(0, d.placer.next) };
      drawInstances(ctx, v, [tmp], { colorOf: () => color, lineWidth: 2, labels: this.labelById });
      if (d.cursor && d.placer.nextName) {
        const [x, y] = v.toScreen(d.cursor[0], d.cursor[1]);
        const t = d.placer.nextName + (d.placer.pendingV === 1 ? " (not visible)" : "");
        ctx.font = "12px sans-serif";
        ctx.fillStyle = "rgba(0,0,0,.7)";
        ctx.fillRect(x + 10, y + 4, ctx.measureText(t).width + 6, 16);
        ctx.fillStyle = "#fff";
        ctx.textBaseline = "top";
        ctx.fillText(t, x + 13, y + 6);
      }
    }
    if (this.drag && this.drag.type === "band") {
      const dd = this.drag;
      const b = normBox(dd.x0, dd.y0, dd.x1, dd.y1);
      const [x0, y0] = v.toScreen(b[0], b[1]);
      ctx.strokeStyle = "#fff";
      ctx.lineWidth = 1;
      ctx.setLineDash([4, 3]);
      ctx.strokeRect(x0, y0, (b[2] - b[0]) * v.s, (b[3] - b[1]) * v.s);
      ctx.setLineDash([]);
    }
  },
};
