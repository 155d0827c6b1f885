// Pointer handling: wheel zoom, pan, drawing, selecting, moving, resizing, vertex editing.
// Methods of Annotator (app.js mixes them into its prototype; `this` is the widget).
import { KeypointPlacer } from "./keypoints.js";
import { normBox, clampBox, clamp, extentOf, hitTest, hitHandle, resizeBox, translateGeom, clampDelta, nearestVertex, nearestEdge, insertVertex, inRect, pointInBox } from "./geometry.js";
import { HANDLE_CURSOR, TOL, isTyping } from "./common.js";

export const PointerMethods = {
  screenPt(e) {
    const r = this.canvas.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  },

  imgPt(e, clampIt = true) {
    const [sx, sy] = this.screenPt(e);
    let [x, y] = this.view.toImage(sx, sy);
    if (clampIt && this.item) { x = clamp(x, 0, this.W); y = clamp(y, 0, this.H); }
    return [x, y];
  },

  gtList() {
    if (!this.showGT) return [];
    const out = [];
    for (const i of this.inst.values()) if (i.kind !== "tag") out.push(i);
    return out;
  },

  onWheel(e) {
    e.preventDefault();
    e.stopPropagation();
    const [sx, sy] = this.screenPt(e);
    const dy = e.deltaMode === 1 ? e.deltaY * 30 : e.deltaY;
    this.zoomAt(sx, sy, Math.exp(-dy * 0.0015));
  },

  onDown(e) {
    this.lastInput = performance.now();
    e.preventDefault(); // no text selection, no native drag
    if (!this.hasFocus() || isTyping(document.activeElement)) this.root.focus({ preventScroll: true });
    if (!this.item) return;
    this.flushNudge();
    try { this.canvas.setPointerCapture(e.pointerId); } catch (_) { /* synthetic events */ }
    const [sx, sy] = this.screenPt(e);
    if (e.button === 1 || (e.button === 0 && this.spaceHeld)) {
      this.drag = { type: "pan", sx, sy, tx: this.view.tx, ty: this.view.ty };
      this.canvas.style.cursor = "grabbing";
      return;
    }
    if (e.button !== 0) return;
    const [x, y] = this.imgPt(e);
    const tol = TOL / this.view.s;
    const tool = this.tool;
    const d = this.drawing;
    // --- drawing in progress (polygon / line / keypoints)
    if (d && (d.type === "polygon" || d.type === "line")) {
      const first = d.pts[0];
      if (d.type === "polygon" && d.pts.length >= 3 && Math.hypot(first[0] - x, first[1] - y) * this.view.s <= 8) return this.finishDrawing();
      d.pts.push([x, y]);
      this.requestDraw();
      return;
    }
    if (d && d.type === "keypoints") {
      d.placer.place(x, y);
      if (d.placer.done) this.finishDrawing();
      else this.requestDraw();
      return;
    }
    // --- editing the single selected instance (handles, vertices, edges)
    const single = this.sel.size === 1 ? this.selected()[0] : null;
    if (single && (tool === "select" || tool === single.kind)) {
      if (single.kind === "box") {
        const hd = hitHandle(single.box, x, y, tol);
        if (hd) {
          this.drag = { type: "resize", inst: single, handle: hd, x0: x, y0: y, box0: single.box.slice(), before: this.snap(single), sx, sy };
          return;
        }
      } else if (single.points && single.kind !== "point") {
        const vtx = nearestVertex(single.points, x, y);
        if (vtx && vtx.d <= tol) {
          this.selVertex = { key: single.key, index: vtx.index };
          this.drag = { type: "vertex", inst: single, index: vtx.index, before: this.snap(single), x0: x, y0: y, p0: single.points[vtx.index].slice(), sx, sy };
          this.requestDraw();
          return;
        }
        if (single.kind === "polygon" || single.kind === "line") {
          const edge = nearestEdge(single.points, x, y, single.kind === "polygon");
          if (edge && (edge.d <= tol || (e.altKey && edge.d <= tol * 4))) {
            const before = this.snap(single);
            single.points = insertVertex(single.points, edge.index, [edge.x, edge.y]);
            this.selVertex = { key: single.key, index: edge.index };
            this.drag = { type: "vertex", inst: single, index: edge.index, before, x0: x, y0: y, p0: [edge.x, edge.y], sx, sy, inserted: true };
            this.requestDraw();
            return;
          }
        }
      }
    }
    const hit = hitTest(this.gtList(), x, y, tol);
    if (tool === "select") {
      if (hit) {
        if (e.shiftKey) {
          const s = new Set(this.sel);
          s.has(hit.key) ? s.delete(hit.key) : s.add(hit.key);
          this.setSelection(s);
          return;
        }
        if (!this.sel.has(hit.key)) this.setSelection([hit.key]);
        this.startMove(x, y, sx, sy);
        return;
      }
      const ph = hitTest(this.visiblePreds(), x, y, tol);
      if (ph) {
        this.selPred = ph;
        if (this.sel.size) this.setSelection([]);
        this.requestDraw();
        return;
      }
      this.selPred = null;
      this.drag = { type: "band", x0: x, y0: y, x1: x, y1: y, additive: e.shiftKey, base: new Set(e.shiftKey ? this.sel : []) };
      if (!e.shiftKey && this.sel.size) this.setSelection([]);
      this.requestDraw();
      return;
    }
    if (tool === "box") {
      if (hit && this.sel.has(hit.key)) return this.startMove(x, y, sx, sy);
      this.drawing = { type: "box", x0: x, y0: y, x1: x, y1: y, sx, sy, hit };
      this.sync();
      return;
    }
    if (tool === "point") {
      if (hit && hit.kind === "point") {
        if (!this.sel.has(hit.key)) this.setSelection([hit.key]);
        return this.startMove(x, y, sx, sy);
      }
      this.drawing = { type: "point", x, y };
      this.sync();
      return;
    }
    if (tool === "polygon" || tool === "line") {
      this.drawing = { type: tool, pts: [[x, y]], cursor: [x, y] };
      this.setSelection([]);
      this.sync();
      return;
    }
    if (tool === "keypoints") {
      const l = this.label;
      const names = l && l.keypoints && l.keypoints.points;
      if (!names || !names.length) {
        this.msg(`Label "${l ? l.name : "?"}" has no keypoint template`, true);
        return;
      }
      const placer = new KeypointPlacer(names);
      if (this.pendingKp) { for (const a of this.pendingKp) a === "v" ? placer.markNotVisible() : placer.skip(); this.pendingKp = null; }
      placer.place(x, y);
      this.drawing = { type: "keypoints", placer, cursor: [x, y] };
      this.setSelection([]);
      if (placer.done) this.finishDrawing();
      this.sync();
    }
  },

  startMove(x, y, sx, sy) {
    const before = new Map();
    for (const i of this.selected()) before.set(i.key, { inst: i, snap: this.snap(i) });
    this.drag = { type: "move", x0: x, y0: y, sx, sy, before, moved: false };
  },

  onMove(e) {
    const [sx, sy] = this.screenPt(e);
    const dr = this.drag;
    if (dr) {
      this.lastInput = performance.now();
      if (dr.type === "pan") {
        this.view.tx = dr.tx + (sx - dr.sx);
        this.view.ty = dr.ty + (sy - dr.sy);
        this.userMoved = true;
        this.sync();
        this.viewChanged();
        return;
      }
      const [x, y] = this.imgPt(e, dr.type !== "move");
      if (dr.type === "move") {
        if (!dr.moved && Math.hypot(sx - dr.sx, sy - dr.sy) < 3) return;
        dr.moved = true;
        // one delta for the whole selection, clamped so every instance stays inside the image
        let dx = x - dr.x0, dy = y - dr.y0;
        for (const { snap } of dr.before.values()) [dx, dy] = clampDelta(snap.box, dx, dy, this.W, this.H);
        for (const { inst, snap } of dr.before.values()) Object.assign(inst, translateGeom(snap, dx, dy));
        this.requestDraw();
      } else if (dr.type === "resize") {
        dr.moved = dr.moved || Math.hypot(sx - dr.sx, sy - dr.sy) >= 2;
        dr.inst.box = clampBox(resizeBox(dr.box0, dr.handle, x - dr.x0, y - dr.y0), this.W, this.H);
        this.requestDraw();
      } else if (dr.type === "vertex") {
        dr.moved = dr.moved || Math.hypot(sx - dr.sx, sy - dr.sy) >= 2;
        const p = dr.inst.points[dr.index];
        p[0] = clamp(dr.p0[0] + (x - dr.x0), 0, this.W);
        p[1] = clamp(dr.p0[1] + (y - dr.y0), 0, this.H);
        dr.inst.box = extentOf(dr.inst.points);
        this.requestDraw();
      } else if (dr.type === "band") {
        dr.x1 = x;
        dr.y1 = y;
        this.requestDraw();
      }
      return;
    }
    const d = this.drawing;
    if (d) {
      const [x, y] = this.imgPt(e);
      if (d.type === "box") { d.x1 = x; d.y1 = y; }
      else if (d.cursor) d.cursor = [x, y];
      this.requestDraw();
      return;
    }
    // hover
    if (!this.item) return;
    const [x, y] = this.imgPt(e, false);
    const tol = TOL / this.view.s;
    const hit = hitTest(this.gtList(), x, y, tol);
    const ph = hit ? null : hitTest(this.visiblePreds(), x, y, tol);
    if (hit !== this.hover || ph !== this.hoverPred) {
      this.hover = hit;
      this.hoverPred = ph;
      this.requestDraw();
    }
    let cur = this.spaceHeld ? "grab" : this.tool === "select" ? "default" : "crosshair";
    const single = this.sel.size === 1 ? this.selected()[0] : null;
    if (single && single.kind === "box" && (this.tool === "select" || this.tool === "box")) {
      const hd = hitHandle(single.box, x, y, tol);
      if (hd) cur = HANDLE_CURSOR[hd];
      else if (pointInBox(x, y, single.box)) cur = "move";
    } else if (hit && this.sel.has(hit.key)) cur = "move";
    this.canvas.style.cursor = cur;
  },

  onUp(e, cancelled = false) {
    try { this.canvas.releasePointerCapture(e.pointerId); } catch (_) { /* not captured */ }
    const dr = this.drag;
    this.drag = null;
    if (dr) {
      if (dr.type === "pan") { this.sync(); return; }
      if (dr.type === "move") {
        if (!dr.moved || cancelled) {
          for (const { inst, snap } of dr.before.values()) this.applySnap(inst, snap);
          this.requestDraw();
          return;
        }
        const changes = [...dr.before.values()].map(({ inst, snap }) => ({ inst, before: snap, after: this.snap(inst) }));
        this.commitUpdates(changes, "move");
      } else if (dr.type === "resize") {
        if (!dr.moved || cancelled) { this.applySnap(dr.inst, dr.before); this.requestDraw(); return; }
        this.commitUpdates([{ inst: dr.inst, before: dr.before, after: this.snap(dr.inst) }], "resize");
      } else if (dr.type === "vertex") {
        if ((!dr.moved && !dr.inserted) || cancelled) { this.applySnap(dr.inst, dr.before); this.requestDraw(); return; }
        dr.inst.box = extentOf(dr.inst.points);
        this.commitUpdates([{ inst: dr.inst, before: dr.before, after: this.snap(dr.inst) }], dr.inserted ? "insert vertex" : "move vertex");
      } else if (dr.type === "band") {
        const r = normBox(dr.x0, dr.y0, dr.x1, dr.y1);
        const inside = inRect(this.gtList(), r).map((i) => i.key);
        this.setSelection(new Set([...dr.base, ...inside]));
      }
      return;
    }
    const d = this.drawing;
    if (!d || cancelled) return;
    if (d.type === "box") {
      this.drawing = null;
      const [sx, sy] = this.screenPt(e);
      if (Math.hypot(sx - d.sx, sy - d.sy) < 3) {
        // a click, not a drag: select what is under the pointer
        this.setSelection(d.hit ? [d.hit.key] : []);
        return;
      }
      const [x, y] = this.imgPt(e);
      const box = clampBox(normBox(d.x0, d.y0, x, y), this.W, this.H);
      this.sync();
      if (box[2] - box[0] < 1 || box[3] - box[1] < 1) { this.requestDraw(); return; }
      const inst = this.newInst({ label_id: this.labelId, kind: "box", box, points: null });
      this.commitCreate([inst], "draw box");
      this.setSelection([inst.key]);
    } else if (d.type === "point") {
      this.drawing = null;
      const inst = this.newInst({ label_id: this.labelId, kind: "point", box: [d.x, d.y, d.x, d.y], points: [[d.x, d.y]] });
      this.commitCreate([inst], "draw point");
      this.setSelection([inst.key]);
    }
  },

  cleanPts(pts) {
    const out = [];
    const tol = 3 / this.view.s;
    for (const p of pts) {
      const q = out[out.length - 1];
      if (!q || Math.hypot(q[0] - p[0], q[1] - p[1]) > tol) out.push(p);
    }
    return out;
  },

  finishDrawing() {
    const d = this.drawing;
    if (!d) return;
    if (d.type === "polygon" || d.type === "line") {
      const pts = this.cleanPts(d.pts);
      if (d.type === "polygon" && pts.length >= 3) {
        const f = pts[0], l = pts[pts.length - 1];
        if (pts.length > 3 && Math.hypot(f[0] - l[0], f[1] - l[1]) * this.view.s <= 3) pts.pop();
      }
      const min = d.type === "polygon" ? 3 : 2;
      if (pts.length < min) { this.msg(`A ${d.type} needs at least ${min} points`, true); return; }
      this.drawing = null;
      const inst = this.newInst({ label_id: this.labelId, kind: d.type, points: pts, box: extentOf(pts) });
      this.commitCreate([inst], "draw " + d.type);
      this.setSelection([inst.key]);
    } else if (d.type === "keypoints") {
      if (!d.placer.labeled) { this.cancelDrawing(); return; }
      this.drawing = null;
      const pts = d.placer.result();
      const inst = this.newInst({ label_id: this.labelId, kind: "keypoints", points: pts, box: extentOf(pts) });
      this.commitCreate([inst], "draw keypoints");
      this.setSelection([inst.key]);
    }
    this.sync();
  },

  cancelDrawing(redraw = true) {
    this.drawing = null;
    this.pendingKp = null;
    if (redraw) { this.sync(); this.requestDraw(); }
  },
};
