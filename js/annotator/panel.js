// @ts-check
// The side panel: the attributes of the selection, the layers (ground truth, runs, score threshold)
// and, in review mode, the verdict buttons. Changes go out as actions; the panel edits nothing itself.
import { h } from "../shared/dom.js";
import { buildAttrPanel, attrsForLabel, attrVisible } from "./attributes.js";
import { selected, runColor, labelName } from "./state.js";
import { button } from "./layout.js";

/** @typedef {import("./state.js").State} State */
/** @typedef {import("./types.js").Inst} Inst */

export class Panel {
  /**
   * @param {object} o
   * @param {State} o.state
   * @param {{root: HTMLElement, attrBox: HTMLElement, selLabelText: HTMLElement, layersBox: HTMLElement, reviewBox: HTMLElement}} o.dom
   * @param {import("./layout.js").Dispatch} o.dispatch
   * @param {() => string[]} o.runNames the runs of the model (synced trait)
   */
  constructor({ state, dom, dispatch, runNames }) {
    this.state = state;
    this.dom = dom;
    this.dispatch = dispatch;
    this.runNames = runNames;
    /** an attribute edit made in the panel is being applied (keep its elements: focus, caret) */
    this.editing = false;
    this.sig = "";
    this.full = "";
    /** @type {import("./types.js").Attribute[] | null} */
    this.shownAttrs = null;
  }

  /** @param {Inst[]} sel */
  visibleAttrSig(sel) {
    if (!sel.length) return "";
    const list = attrsForLabel(this.state.attrs, sel[0].label_id);
    return list.filter((a) => attrVisible(a, list, sel[0].attributes || {})).map((a) => a.name).join(",");
  }

  /** Rebuild the attributes when what they show changed. */
  refresh() {
    const s = this.state;
    const sel = selected(s).filter((i) => i.kind !== "tag");
    const sig = sel.map((i) => i.key + ":" + i.label_id).join(",") + "|" + this.visibleAttrSig(sel);
    if (this.editing && sig === this.sig) {
      // an edit made in the panel itself: keep its elements, only refresh the "missing" flags
      const vals = (sel[0] && sel[0].attributes) || {};
      for (const f of this.dom.attrBox.querySelectorAll(".nbl-field")) {
        const name = /** @type {HTMLElement} */ (f).dataset.attr || "";
        const a = s.attrs.find((x) => x.name === name);
        const v = vals[name];
        f.classList.toggle("nbl-missing", !!(a && a.required && (v == null || v === "" || (Array.isArray(v) && !v.length))));
      }
      return;
    }
    this.sig = sig;
    // nothing the panel shows changed (e.g. a box was moved): keep it as it is
    const full = sig + "|" + JSON.stringify(sel.map((i) => i.attributes || {}));
    if (!this.editing && full === this.full && this.shownAttrs === s.attrs) return;
    this.full = full;
    this.shownAttrs = s.attrs;
    if (sel.length) {
      const names = [...new Set(sel.map((i) => labelName(s, i.label_id) || String(i.label_id)))];
      this.dom.selLabelText.textContent = `${sel.length} selected: ${names.join(", ")}`;
    } else this.dom.selLabelText.textContent = "";
    const keys = sel.map((i) => i.key);
    buildAttrPanel(this.dom.attrBox, s.attrs, sel, (name, value) => {
      this.editing = true;
      try {
        this.dispatch({ action: "set_attr", arg: { keys, name, value } });
      } finally {
        this.editing = false;
      }
    });
  }

  renderLayers() {
    const s = this.state, d = s.display;
    const known = this.runNames();
    const runs = [...new Set([...known, ...s.preds.map((p) => p.run || "")])];
    const rows = [];
    const gt = /** @type {HTMLInputElement} */ (h("input", { attrs: { type: "checkbox", "data-layer": "gt" }, props: { checked: d.showGT } }));
    gt.addEventListener("change", () => this.dispatch({ action: "show_gt", arg: gt.checked }));
    rows.push(h("label", { cls: "nbl-layer" }, [gt, h("span", { text: "ground truth" })]));
    for (const r of runs) {
      if (!s.preds.some((p) => (p.run || "") === r) && !known.includes(r)) continue;
      const cb = /** @type {HTMLInputElement} */ (h("input", { attrs: { type: "checkbox", "data-run": r }, props: { checked: !d.hiddenRuns.has(r) } }));
      cb.addEventListener("change", () => this.dispatch({ action: "show_run", arg: { run: r, shown: cb.checked } }));
      rows.push(h("label", { cls: "nbl-layer" }, [cb, h("span", { cls: "nbl-swatch", style: { background: runColor(s, r) } }), h("span", { text: r || "(run)" })]));
    }
    if (s.preds.length) {
      const val = h("span", { cls: "nbl-muted", text: d.threshold.toFixed(2) });
      const th = /** @type {HTMLInputElement} */ (h("input", { cls: "nbl-threshold", attrs: { type: "range", min: 0, max: 1, step: 0.01, "aria-label": "confidence threshold" } }));
      th.value = String(d.threshold);
      th.addEventListener("input", () => { this.dispatch({ action: "threshold", arg: Number(th.value) }); val.textContent = d.threshold.toFixed(2); });
      rows.push(h("label", { cls: "nbl-layer" }, [h("span", { text: "score ≥" }), th, val]));
    }
    this.dom.layersBox.replaceChildren(...rows);
  }

  renderReview() {
    const box = this.dom.reviewBox;
    const review = this.state.queueMode === "review";
    box.classList.toggle("nbl-hidden", !review);
    if (!review) return box.replaceChildren();
    /** @param {string} text @param {string} title @param {"confirm_gt" | "delete_gt" | "accept_pred"} v */
    const verdict = (text, title, v) => button(this.dom.root, text, title, () => this.dispatch({ action: "verdict", arg: v }), { "data-verdict": v });
    box.replaceChildren(
      h("h4", { text: "Review" }),
      verdict("Accept prediction (A)", "accept the prediction into GT", "accept_pred"),
      verdict("Delete GT (X)", "delete the ground-truth instance", "delete_gt"),
      verdict("Confirm GT (Y)", "the ground truth is right", "confirm_gt"),
    );
  }
}
