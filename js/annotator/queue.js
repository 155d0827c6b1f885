// Review (accept / reject / verdicts) and queue moves (next, prev, skip, complete, status).
// Methods of Annotator (app.js mixes them into its prototype; `this` is the widget).
import { missingRequired } from "./attributes.js";
import { iou } from "./geometry.js";

export const QueueMethods = {
  targetPred() {
    return (this.selPred && !this.selPred.hidden && this.selPred) || (this.hoverPred && !this.hoverPred.hidden && this.hoverPred) || null;
  },

  accept() {
    const p = this.targetPred();
    if (!p) { this.msg("Select or hover a prediction to accept it", true); return; }
    const cmd = { inst: null, undone: false };
    const run = () => {
      cmd.undone = false;
      p.hidden = true;
      const pred_id = p.ref.id;
      this.saver.enqueue({
        build: () => ({ kind: "accept", pred_id }),
        onOk: (r) => {
          if (!r.instance || cmd.undone) return;
          const inst = this.fromServer(r.instance);
          cmd.inst = inst;
          if (this.item && this.preds.includes(p)) { this.inst.set(inst.key, inst); this.changed(); }
        },
      });
      if (this.selPred === p) this.selPred = null;
      this.changed();
    };
    run();
    this.undo.push({
      name: "accept",
      undo: () => {
        cmd.undone = true;
        p.hidden = false;
        this.saver.enqueue({
          build: () => {
            if (!cmd.inst) return null;
            this.inst.delete(cmd.inst.key);
            this.sel.delete(cmd.inst.key);
            return { kind: "save", op: "delete", media_id: this.item && this.item.media_id, instance_id: cmd.inst.ref.id };
          },
          onOk: () => this.changed(),
        });
      },
      redo: run,
    });
  },

  reject() {
    const p = this.targetPred();
    if (!p) { this.msg("Select or hover a prediction to reject it", true); return; }
    p.hidden = true;
    if (this.selPred === p) this.selPred = null;
    const pred_id = p.ref.id;
    this.saver.enqueue({ build: () => ({ kind: "reject", pred_id }) });
    this.changed();
  },

  verdict(v) {
    const f = this.focus() || {};
    let gt = this.sel.size === 1 ? this.selected()[0] : null;
    let pred = this.targetPred();
    const best = (list) => {
      if (!f.box) return null;
      let b = null, bi = 0;
      for (const i of list) { if (!i.box) continue; const o = iou(i.box, f.box); if (o > bi) { bi = o; b = i; } }
      return b;
    };
    if (!gt && f.gt_id != null) gt = this.gtList().find((i) => i.ref.id === f.gt_id) || null;
    if (!pred && f.pred_id != null) pred = this.preds.find((p) => p.ref.id === f.pred_id) || null;
    gt = gt || best(this.gtList());
    pred = pred || best(this.preds.filter((p) => !p.hidden));
    const msg = { kind: "verdict", verdict: v, media_id: this.item && this.item.media_id };
    if (v === "accept_pred") { if (!pred) return this.msg("No prediction to accept", true); msg.pred_id = pred.ref.id; if (gt) msg.gt_id = gt.ref.id; }
    if (v === "delete_gt" || v === "confirm_gt") { if (!gt) return this.msg("No ground-truth instance to judge", true); msg.gt_id = gt.ref.id; if (pred) msg.pred_id = pred.ref.id; }
    this.saver.enqueue({
      build: () => msg,
      onOk: (r) => {
        if (v === "accept_pred" && pred) pred.hidden = true;
        if (r.instance) { const inst = this.fromServer(r.instance); this.inst.set(inst.key, inst); }
        if (v === "delete_gt" && gt) this.inst.delete(gt.key);
        this.msg(`verdict: ${v.replace("_", " ")}`);
        this.root.dataset.verdict = v;
        this.changed();
      },
    });
  },

  nav(action) {
    const total = this.model.get("total") ?? 0;
    if (action === "next" && this.index != null && this.index + 1 >= total) return this.msg("This is the last item");
    if (action === "prev" && !this.index) return this.msg("This is the first item");
    this.flushNudge();
    const seconds = this.secondsActive();
    if (seconds >= 1 && this.item && this.item.status !== "complete" && this.item.status !== "skipped") {
      this.sendStatus("in_progress", { quiet: true });
    }
    this.saver.enqueue({
      build: () => ({ kind: "nav", action }),
      noRetry: true,
      timeoutMs: 30000,
      onOk: (r) => this.goTo(r.index),
      onFail: (err) => this.msg(`Could not move ${action}: ${err}`, true),
    });
  },

  sendStatus(state, { reason, quiet = false } = {}) {
    const m = { kind: "status", state, seconds_active: this.secondsActive(), media_id: this.item && this.item.media_id };
    if (reason) m.reason = reason;
    this.saver.enqueue({
      build: () => m,
      noRetry: true,
      timeoutMs: 30000,
      onOk: (r) => {
        if (quiet) return;
        this.activeMs = 0;
        if (this.item) this.item.status = state === "complete" ? "complete" : state === "skipped" ? "skipped" : this.item.status;
        this.root.dataset.status = state;
        this.msg(state === "complete" ? "Completed ✓" : state === "skipped" ? "Skipped" : "");
        if (r.completed != null) this.doneText.textContent = `completed: ${r.completed}`;
        if (r.index != null && r.index !== this.index) this.goTo(r.index);
      },
      onFail: (err) => this.msg(`Could not mark ${state}: ${err}`, true),
    });
  },

  missing() {
    const out = [];
    for (const inst of this.inst.values()) {
      const names = missingRequired(this.attrs, inst);
      if (names.length) out.push({ inst, names });
    }
    return out;
  },

  complete() {
    if (!this.item) return;
    if (this.drawing) return;
    const miss = this.missing();
    this.root.dataset.missing = String(miss.length);
    if (miss.length) {
      const parts = miss.slice(0, 5).map(({ inst, names }) => `${(this.labelById.get(inst.label_id) || {}).name || inst.label_id}: ${names.join(", ")}`);
      this.msg(`Cannot complete – missing required attributes: ${parts.join("; ")}${miss.length > 5 ? " …" : ""}`, true);
      this.setSelection([miss[0].inst.key]);
      return;
    }
    this.sendStatus("complete");
  },

  openSkip() {
    this.dialog.classList.remove("nbl-hidden");
    this.skipInput.value = "";
    this.skipInput.focus();
  },

  closeSkip() {
    this.dialog.classList.add("nbl-hidden");
    this.root.focus({ preventScroll: true });
  },

  confirmSkip() {
    const reason = this.skipInput.value.trim();
    this.closeSkip();
    this.sendStatus("skipped", { reason: reason || "unspecified" });
  },
};
