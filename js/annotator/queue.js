// @ts-check
// Moving through the queue: next / previous, complete (refused while required attributes are
// missing), skip with a reason, and the in-progress status with the active seconds when leaving.
import { missingRequired } from "./attributes.js";
import { labelName, drawingOf } from "./state.js";

export class Queue {
  /**
   * @param {object} o
   * @param {import("./state.js").State} o.state
   * @param {import("./editor.js").Saves} o.saves
   * @param {() => number} o.total queue length
   * @param {(index: number) => void} o.goTo
   * @param {{seconds: () => number, reset: () => void}} o.activity active time on the item
   * @param {(text: string, error?: boolean) => void} o.msg
   * @param {(keys: string[]) => void} o.select
   * @param {(n: number) => void} o.completed the kernel's completed count
   * @param {() => void} o.beforeLeave commit what is open (a nudge)
   * @param {DOMStringMap} o.data the root's dataset (data-status, data-missing)
   */
  constructor({ state, saves, total, goTo, activity, msg, select, completed, beforeLeave, data }) {
    this.state = state;
    this.saves = saves;
    this.total = total;
    this.goTo = goTo;
    this.activity = activity;
    this.msg = msg;
    this.select = select;
    this.completed = completed;
    this.beforeLeave = beforeLeave;
    this.data = data;
  }

  /** @param {"next" | "prev"} action */
  nav(action) {
    const s = this.state;
    if (action === "next" && s.index != null && s.index + 1 >= this.total()) return this.msg("This is the last item");
    if (action === "prev" && !s.index) return this.msg("This is the first item");
    this.beforeLeave();
    const seconds = this.activity.seconds();
    if (seconds >= 1 && s.item && s.item.status !== "complete" && s.item.status !== "skipped") this.sendStatus("in_progress", { quiet: true });
    this.saves.enqueue({
      build: () => ({ kind: "nav", action }),
      noRetry: true,
      timeoutMs: 30000,
      onOk: (r) => this.goTo(r.index),
      onFail: (err) => this.msg(`Could not move ${action}: ${err}`, true),
    });
  }

  /**
   * @param {"complete" | "skipped" | "in_progress"} state
   * @param {{reason?: string, quiet?: boolean}} [o]
   */
  sendStatus(state, { reason, quiet = false } = {}) {
    const s = this.state;
    /** @type {import("./saver.js").Msg} */
    const m = { kind: "status", state, seconds_active: this.activity.seconds(), media_id: s.item && s.item.media_id };
    if (reason) m.reason = reason;
    this.saves.enqueue({
      build: () => m,
      noRetry: true,
      timeoutMs: 30000,
      onOk: (r) => {
        if (quiet) return;
        this.activity.reset();
        if (s.item && state !== "in_progress") s.item.status = state;
        this.data.status = state;
        this.msg(state === "complete" ? "Completed ✓" : state === "skipped" ? "Skipped" : "");
        if (r.completed != null) this.completed(r.completed);
        if (r.index != null && r.index !== s.index) this.goTo(r.index);
      },
      onFail: (err) => this.msg(`Could not mark ${state}: ${err}`, true),
    });
  }

  /** Ground truth lacking required attributes, with the names missing. */
  missing() {
    const out = [];
    for (const inst of this.state.inst.values()) {
      const names = missingRequired(this.state.attrs, inst);
      if (names.length) out.push({ inst, names });
    }
    return out;
  }

  complete() {
    const s = this.state;
    if (!s.item || drawingOf(s.mode)) return;
    const miss = this.missing();
    this.data.missing = String(miss.length);
    if (miss.length) {
      const parts = miss.slice(0, 5).map(({ inst, names }) => `${labelName(s, inst.label_id) || inst.label_id}: ${names.join(", ")}`);
      this.msg(`Cannot complete – missing required attributes: ${parts.join("; ")}${miss.length > 5 ? " …" : ""}`, true);
      this.select([miss[0].inst.key]);
      return;
    }
    this.sendStatus("complete");
  }

  /** @param {string} reason */
  skip(reason) {
    this.sendStatus("skipped", { reason: reason || "unspecified" });
  }
}
