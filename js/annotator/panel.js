// Side panel: attributes of the selection, layers (GT, runs, score threshold), review buttons.
// Methods of Annotator (app.js mixes them into its prototype; `this` is the widget).
import { h } from "../shared/dom.js";
import { buildAttrPanel, attrsForLabel, attrVisible } from "./attributes.js";

export const PanelMethods = {
  refreshPanel() {
    const sel = this.selected().filter((i) => i.kind !== "tag");
    const sig = sel.map((i) => i.key + ":" + i.label_id).join(",") + "|" + this.visibleAttrSig(sel);
    if (this.panelEditing && sig === this.panelSig) {
      // an edit made in the panel itself: keep its elements (focus, caret), only refresh the flags
      const vals = (sel[0] && sel[0].attributes) || {};
      for (const f of this.attrBox.querySelectorAll(".nbl-field")) {
        const a = this.attrs.find((x) => x.name === f.dataset.attr);
        const v = vals[f.dataset.attr];
        f.classList.toggle("nbl-missing", !!(a && a.required && (v == null || v === "" || (Array.isArray(v) && !v.length))));
      }
      return;
    }
    this.panelSig = sig;
    // nothing the panel shows changed (e.g. a box was moved): keep it as it is
    const full = sig + "|" + JSON.stringify(sel.map((i) => i.attributes || {}));
    if (!this.panelEditing && full === this.panelFull && this.panelAttrs === this.attrs) return;
    this.panelFull = full;
    this.panelAttrs = this.attrs;
    if (sel.length) {
      const names = [...new Set(sel.map((i) => (this.labelById.get(i.label_id) || {}).name || String(i.label_id)))];
      this.selLabelText.textContent = `${sel.length} selected: ${names.join(", ")}`;
    } else this.selLabelText.textContent = "";
    buildAttrPanel(this.attrBox, this.attrs, sel, (name, value) => this.setAttr(sel, name, value));
  },

  visibleAttrSig(sel) {
    if (!sel.length) return "";
    const list = attrsForLabel(this.attrs, sel[0].label_id);
    return list.filter((a) => attrVisible(a, list, sel[0].attributes || {})).map((a) => a.name).join(",");
  },

  setAttr(insts, name, value) {
    const changes = [];
    for (const inst of insts) {
      if (!this.inst.has(inst.key)) continue;
      const before = this.snap(inst);
      const a = { ...(inst.attributes || {}) };
      if (value == null) delete a[name];
      else a[name] = value;
      inst.attributes = a;
      changes.push({ inst, before, after: this.snap(inst) });
    }
    this.panelEditing = true;
    try {
      if (changes.length) this.commitUpdates(changes, "attribute");
    } finally {
      this.panelEditing = false;
    }
  },

  buildLayers() {
    const runs = [...new Set([...(this.model.get("runs") || []).map((r) => r.name), ...this.preds.map((p) => p.run || "")])].filter((r) => r !== undefined);
    const rows = [];
    const gt = h("input", { attrs: { type: "checkbox", "data-layer": "gt" }, props: { checked: this.showGT } });
    gt.addEventListener("change", () => { this.showGT = gt.checked; this.requestDraw(true); });
    rows.push(h("label", { cls: "nbl-layer" }, [gt, h("span", { text: "ground truth" })]));
    for (const r of runs) {
      if (!this.preds.some((p) => (p.run || "") === r) && !(this.model.get("runs") || []).some((x) => x.name === r)) continue;
      const cb = h("input", { attrs: { type: "checkbox", "data-run": r }, props: { checked: !this.hiddenRuns.has(r) } });
      cb.addEventListener("change", () => { cb.checked ? this.hiddenRuns.delete(r) : this.hiddenRuns.add(r); this.sync(); this.requestDraw(true); });
      rows.push(h("label", { cls: "nbl-layer" }, [cb, h("span", { cls: "nbl-swatch", style: { background: this.runColor(r) } }), h("span", { text: r || "(run)" })]));
    }
    if (this.preds.length) {
      const val = h("span", { cls: "nbl-muted", text: this.threshold.toFixed(2) });
      const th = h("input", { cls: "nbl-threshold", attrs: { type: "range", min: 0, max: 1, step: 0.01, "aria-label": "confidence threshold" } });
      th.value = String(this.threshold);
      th.addEventListener("input", () => { this.threshold = Number(th.value); val.textContent = this.threshold.toFixed(2); this.sync(); this.requestDraw(true); });
      rows.push(h("label", { cls: "nbl-layer" }, [h("span", { text: "score ≥" }), th, val]));
    }
    this.layersBox.replaceChildren(...rows);
  },

  buildReview() {
    const review = this.model.get("mode") === "review";
    this.reviewBox.classList.toggle("nbl-hidden", !review);
    if (!review) return this.reviewBox.replaceChildren();
    this.reviewBox.replaceChildren(
      h("h4", { text: "Review" }),
      this.btn("Accept prediction (A)", "accept the prediction into GT", () => this.act({ action: "verdict", arg: "accept_pred" }), { attrs: { "data-verdict": "accept_pred" } }),
      this.btn("Delete GT (X)", "delete the ground-truth instance", () => this.act({ action: "verdict", arg: "delete_gt" }), { attrs: { "data-verdict": "delete_gt" } }),
      this.btn("Confirm GT (Y)", "the ground truth is right", () => this.act({ action: "verdict", arg: "confirm_gt" }), { attrs: { "data-verdict": "confirm_gt" } }),
    );
  },
};
