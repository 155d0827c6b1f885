// Keyboard: key -> action dispatch, nudges, delete, duplicate, copy to the next item.
// Methods of Annotator (app.js mixes them into its prototype; `this` is the widget).
import { keyName, resolveKey, PASS_THROUGH } from "./hotkeys.js";
import { extentOf, translateGeom, clampDelta, deleteVertex } from "./geometry.js";
import { deep, isTyping } from "./common.js";

export const KeyboardMethods = {
  onKey(e) {
    const key = keyName(e);
    if (PASS_THROUGH.has(key)) return; // run cell / save notebook stay with the host
    e.stopPropagation(); // never let JupyterLab command-mode shortcuts see keys typed in the widget
    this.lastInput = performance.now();
    if (isTyping(e.target)) {
      if (key === "Escape") { e.preventDefault(); this.root.focus({ preventScroll: true }); }
      return; // inputs keep their keys
    }
    if (key === "Space") {
      e.preventDefault();
      this.spaceHeld = true;
      this.canvas.style.cursor = "grab";
      return;
    }
    const ctx = { drawing: this.drawing && this.drawing.type !== "box" && this.drawing.type !== "point" ? this.drawing.type : null, hasSelection: this.sel.size > 0, mode: this.model.get("mode"), labelKeys: this.labelKeys };
    let a = resolveKey(key, ctx);
    // before the first keypoint is placed, V / N pre-mark the first point(s)
    if (!ctx.drawing && this.tool === "keypoints" && (key === "V" || key === "N")) a = { action: key === "V" ? "kp_pre_nv" : "kp_pre_skip" };
    if (!a) {
      // unhandled plain characters do nothing (no find-as-you-type); browser combos (Ctrl+R, Ctrl+F) stay
      if (e.key.length === 1 && !e.ctrlKey && !e.metaKey) e.preventDefault();
      return;
    }
    e.preventDefault();
    this.act(a);
  },

  onKeyUp(e) {
    const key = keyName(e);
    if (PASS_THROUGH.has(key)) return;
    e.stopPropagation();
    if (e.key === " " || e.key === "Spacebar") { this.spaceHeld = false; this.sync(); }
  },

  act(a) {
    const arg = a.arg;
    if (a.action !== "nudge") this.flushNudge();
    switch (a.action) {
      case "label": return this.pickLabel(arg);
      case "tool": return this.setTool(arg);
      case "undo":
        if (this.drawing) return this.act({ action: "undo_point" });
        return this.afterUndo(this.undo.undo());
      case "redo":
        return this.afterUndo(this.undo.redo());
      case "duplicate": return this.duplicate();
      case "select_all": return this.setSelection(this.gtList().map((i) => i.key));
      case "copy_to_next": return this.copyToNext();
      case "help": this.help.classList.toggle("nbl-hidden"); this.root.dataset.help = this.help.classList.contains("nbl-hidden") ? "0" : "1"; return;
      case "escape":
        if (!this.help.classList.contains("nbl-hidden")) { this.help.classList.add("nbl-hidden"); this.root.dataset.help = "0"; return; }
        this.selPred = null;
        return this.setSelection([]);
      case "delete": return this.deleteSelection();
      case "fit": this.fitView(); this.requestDraw(true); return;
      case "one_to_one": this.view.zoomTo(this.vw / 2, this.vh / 2, 1); this.userMoved = true; this.sync(); this.requestDraw(true); return;
      case "zoom": return this.zoomAt(this.vw / 2, this.vh / 2, arg);
      case "skip": return this.openSkip();
      case "complete": return this.complete();
      case "nudge": return this.doNudge(arg[0], arg[1]);
      case "next": return this.nav("next");
      case "prev": return this.nav("prev");
      case "accept": return this.accept();
      case "reject": return this.reject();
      case "verdict": return this.verdict(arg);
      case "kp_not_visible": this.drawing.placer.markNotVisible(); this.requestDraw(); return;
      case "kp_skip": this.drawing.placer.skip(); if (this.drawing.placer.done) this.finishDrawing(); else this.requestDraw(); return;
      case "kp_pre_nv": (this.pendingKp ||= []).push("v"); this.msg("next keypoint: labeled, not visible"); return;
      case "kp_pre_skip": (this.pendingKp ||= []).push("n"); this.msg("next keypoint skipped"); return;
      case "finish_drawing": return this.finishDrawing();
      case "cancel_drawing": return this.cancelDrawing();
      case "undo_point": {
        const d = this.drawing;
        if (d && d.pts) { d.pts.pop(); if (!d.pts.length) this.cancelDrawing(); else this.requestDraw(); }
        else if (d && d.type === "keypoints") this.cancelDrawing();
        return;
      }
      default: return;
    }
  },

  afterUndo(cmd) {
    if (!cmd) return;
    if (cmd.keys) {
      this.sel = new Set(cmd.keys.filter((k) => this.inst.has(k)));
      this.selVertex = null;
    }
    this.buildTags();
    this.changed();
  },

  doNudge(dx, dy) {
    const sel = this.selected();
    if (!sel.length) return;
    if (!this.nudge) {
      this.nudge = new Map(sel.map((i) => [i.key, { inst: i, snap: this.snap(i) }]));
      this.nudge.dx = 0;
      this.nudge.dy = 0;
    }
    let tdx = this.nudge.dx + dx, tdy = this.nudge.dy + dy;
    for (const { snap } of this.nudge.values()) [tdx, tdy] = clampDelta(snap.box, tdx, tdy, this.W, this.H);
    this.nudge.dx = tdx;
    this.nudge.dy = tdy;
    for (const { inst, snap } of this.nudge.values()) Object.assign(inst, translateGeom(snap, tdx, tdy));
    clearTimeout(this.nudgeTimer);
    this.nudgeTimer = setTimeout(() => this.flushNudge(), 500);
    this.sync();
    this.requestDraw();
  },

  flushNudge() {
    clearTimeout(this.nudgeTimer);
    const n = this.nudge;
    this.nudge = null;
    if (!n || (!n.dx && !n.dy)) { if (n) this.sync(); return; }
    const changes = [...n.values()].filter(({ inst }) => this.inst.has(inst.key)).map(({ inst, snap }) => ({ inst, before: snap, after: this.snap(inst) }));
    if (changes.length) this.commitUpdates(changes, "move");
  },

  deleteSelection() {
    const sv = this.selVertex;
    if (sv) {
      const inst = this.inst.get(sv.key);
      if (inst && inst.points) {
        const before = this.snap(inst);
        let pts = null;
        if (inst.kind === "keypoints") {
          pts = inst.points.map((p) => p.slice());
          pts[sv.index] = [0, 0, 0];
        } else pts = deleteVertex(inst.points, sv.index, inst.kind === "line" ? 2 : 3);
        if (!pts) { this.msg(`A ${inst.kind} needs at least ${inst.kind === "line" ? 2 : 3} points`, true); return; }
        inst.points = pts;
        inst.box = extentOf(pts);
        this.selVertex = null;
        this.commitUpdates([{ inst, before, after: this.snap(inst) }], "delete vertex");
        return;
      }
    }
    const sel = this.selected();
    if (!sel.length) return;
    this.commitDelete(sel);
  },

  duplicate() {
    const sel = this.selected().filter((i) => i.kind !== "tag");
    if (!sel.length) return;
    const off = Math.max(1, Math.round(10 / this.view.s));
    const copies = sel.map((i) => {
      let [dx, dy] = clampDelta(i.box, off, off, this.W, this.H);
      if (!dx && !dy) [dx, dy] = clampDelta(i.box, -off, -off, this.W, this.H);
      const g = translateGeom({ box: i.box, points: i.points }, dx, dy);
      return this.newInst({ label_id: i.label_id, kind: i.kind, box: g.box, points: g.points, attributes: deep(i.attributes || {}) });
    });
    this.commitCreate(copies, "duplicate");
    this.setSelection(copies.map((c) => c.key));
  },

  copyToNext() {
    const sel = this.selected();
    if (!sel.length) { this.msg("Select instances to copy to the next image", true); return; }
    const refs = sel.map((i) => i.ref), media_id = this.item && this.item.media_id, next = (this.index ?? 0) + 1;
    this.saver.enqueue({
      build: () => ({ kind: "copy_to_next", media_id, instance_ids: refs.map((r) => r.id) }),
      onOk: (r) => { this.cache.delete(next); this.msg(`Copied ${r.count ?? refs.length} to the next image`); },
    });
  },
};
