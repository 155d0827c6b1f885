// @ts-check
// Predictions and review verdicts: accept a prediction into ground truth (undoable), reject it, and
// the review-mode verdicts (confirm GT / delete GT / accept prediction) on the focused pair.
import { iou } from "./geometry.js";
import { fromServer } from "./instances.js";
import { focusOf, gtList, single } from "./state.js";

/** @typedef {import("./types.js").Inst} Inst */

export class Review {
  /**
   * @param {object} o
   * @param {import("./state.js").State} o.state
   * @param {import("./editor.js").Saves} o.saves
   * @param {import("./undo.js").UndoStack} o.undo
   * @param {() => void} o.changed
   * @param {(text: string, error?: boolean) => void} o.msg
   * @param {DOMStringMap} o.data the root's dataset (data-verdict)
   */
  constructor({ state, saves, undo, changed, msg, data }) {
    this.state = state;
    this.saves = saves;
    this.undo = undo;
    this.changed = changed;
    this.msg = msg;
    this.data = data;
  }

  /** The selected, else the hovered prediction (not accepted/rejected). */
  targetPred() {
    const s = this.state;
    return (s.selPred && !s.selPred.hidden && s.selPred) || (s.hoverPred && !s.hoverPred.hidden && s.hoverPred) || null;
  }

  accept() {
    const s = this.state;
    const p = this.targetPred();
    if (!p || !p.ref) { this.msg("Select or hover a prediction to accept it", true); return; }
    const pred_id = p.ref.id;
    /** @type {{inst: Inst | null, undone: boolean}} */
    const cmd = { inst: null, undone: false };
    const run = () => {
      cmd.undone = false;
      p.hidden = true;
      this.saves.enqueue({
        build: () => ({ kind: "accept", pred_id }),
        onOk: (r) => {
          if (!r.instance || cmd.undone) return;
          const inst = fromServer(r.instance);
          cmd.inst = inst;
          if (s.item && s.preds.includes(p)) { s.inst.set(inst.key, inst); this.changed(); }
        },
      });
      if (s.selPred === p) s.selPred = null;
      this.changed();
    };
    run();
    this.undo.push({
      name: "accept",
      undo: () => {
        cmd.undone = true;
        p.hidden = false;
        const media_id = s.item && s.item.media_id;
        this.saves.enqueue({
          build: () => {
            if (!cmd.inst || !cmd.inst.ref) return null;
            s.inst.delete(cmd.inst.key);
            s.sel.delete(cmd.inst.key);
            return { kind: "save", op: "delete", media_id, instance_id: cmd.inst.ref.id };
          },
          onOk: () => this.changed(),
        });
      },
      redo: run,
    });
  }

  reject() {
    const s = this.state;
    const p = this.targetPred();
    if (!p || !p.ref) { this.msg("Select or hover a prediction to reject it", true); return; }
    p.hidden = true;
    if (s.selPred === p) s.selPred = null;
    const pred_id = p.ref.id;
    this.saves.enqueue({ build: () => ({ kind: "reject", pred_id }) });
    this.changed();
  }

  /** @param {"confirm_gt" | "delete_gt" | "accept_pred"} v */
  verdict(v) {
    const s = this.state;
    const f = focusOf(s) || {};
    /** @param {Inst[]} list */
    const best = (list) => {
      if (!f.box) return null;
      /** @type {Inst | null} */
      let b = null, bi = 0;
      for (const i of list) { if (!i.box) continue; const o = iou(i.box, f.box); if (o > bi) { bi = o; b = i; } }
      return b;
    };
    let gt = single(s);
    let pred = this.targetPred();
    if (!gt && f.gt_id != null) gt = gtList(s).find((i) => !!i.ref && i.ref.id === f.gt_id) || null;
    if (!pred && f.pred_id != null) pred = s.preds.find((p) => !!p.ref && p.ref.id === f.pred_id) || null;
    gt = gt || best(gtList(s));
    pred = pred || best(s.preds.filter((p) => !p.hidden));
    /** @type {import("./saver.js").Msg} */
    const m = { kind: "verdict", verdict: v, media_id: s.item && s.item.media_id };
    if (v === "accept_pred") {
      if (!pred || !pred.ref) return this.msg("No prediction to accept", true);
      m.pred_id = pred.ref.id;
      if (gt && gt.ref) m.gt_id = gt.ref.id;
    }
    if (v === "delete_gt" || v === "confirm_gt") {
      if (!gt || !gt.ref) return this.msg("No ground-truth instance to judge", true);
      m.gt_id = gt.ref.id;
      if (pred && pred.ref) m.pred_id = pred.ref.id;
    }
    const judged = { gt, pred };
    this.saves.enqueue({
      build: () => m,
      onOk: (r) => {
        if (v === "accept_pred" && judged.pred) judged.pred.hidden = true;
        if (r.instance) { const inst = fromServer(r.instance); s.inst.set(inst.key, inst); }
        if (v === "delete_gt" && judged.gt) s.inst.delete(judged.gt.key);
        this.msg(`verdict: ${v.replace("_", " ")}`);
        this.data.verdict = v;
        this.changed();
      },
    });
  }
}
