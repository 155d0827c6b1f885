// Schema, label chips, tool buttons, whole-image tag chips; choosing a label or a tool.
// Methods of Annotator (app.js mixes them into its prototype; `this` is the widget).
import { h } from "../shared/dom.js";
import { labelKeymap, TOOL_NAMES } from "./hotkeys.js";
import { paletteColor } from "./render.js";
import { SPATIAL_TOOLS, safeColor } from "./common.js";

export const LabelsMethods = {
  readSchema() {
    const sc = this.model.get("schema") || {};
    this.labels = sc.labels || [];
    this.attrs = sc.attributes || [];
    this.labelById = new Map(this.labels.map((l) => [l.id, l]));
    this.labelKeys = labelKeymap(this.labels);
    if (!this.labelById.has(this.labelId)) {
      const first = this.labels[0];
      this.labelId = first ? first.id : null;
      this.tool = this.firstTool(first);
    }
    this.buildLabels();
    this.buildTools();
    this.buildTags();
  },

  firstTool(label) {
    const t = label && (label.spatial || []).find((k) => SPATIAL_TOOLS.includes(k));
    return t || "select";
  },

  allowedTools() {
    const l = this.label;
    return ["select", ...((l && l.spatial) || []).filter((k) => SPATIAL_TOOLS.includes(k))];
  },

  colorOfLabel(id) {
    const l = this.labelById.get(id);
    if (l && safeColor(l.color)) return l.color;
    const i = this.labels.findIndex((x) => x.id === id);
    return paletteColor(i < 0 ? 0 : i);
  },

  runColor(name) {
    const runs = this.model.get("runs") || [];
    const i = runs.findIndex((r) => r.name === name);
    if (i >= 0 && safeColor(runs[i].color)) return runs[i].color;
    return paletteColor(7 + (i < 0 ? 0 : i) * 3);
  },

  keyOfLabel(id) {
    for (const [k, v] of this.labelKeys) if (v === id) return k.toLowerCase();
    return "";
  },

  chip(label, pressed, onClick, cls) {
    const c = h("button", { cls: "nbl-chip " + cls, attrs: { type: "button", tabindex: -1, "aria-pressed": String(!!pressed), "data-label-id": label.id, title: label.name } }, [
      h("span", { cls: "nbl-swatch", style: { background: this.colorOfLabel(label.id) } }),
      h("span", { cls: "nbl-chip-name", text: label.name }),
      h("span", { cls: "nbl-key", text: this.keyOfLabel(label.id) }),
    ]);
    c.addEventListener("mousedown", (e) => e.preventDefault());
    c.addEventListener("click", (e) => { e.preventDefault(); onClick(); this.root.focus({ preventScroll: true }); });
    return c;
  },

  buildLabels() {
    const spatial = this.labels.filter((l) => (l.spatial || []).some((k) => SPATIAL_TOOLS.includes(k)));
    this.labelsG.replaceChildren(...spatial.map((l) => this.chip(l, l.id === this.labelId, () => this.pickLabel(l.id), "nbl-label")));
    this.labelsG.classList.toggle("nbl-hidden", !spatial.length);
  },

  buildTools() {
    const allowed = this.allowedTools();
    const keys = { select: "s", box: "b", polygon: "p", keypoints: "k", point: "o", line: "l" };
    this.toolsG.replaceChildren(...allowed.map((t) => {
      const b = this.btn(TOOL_NAMES[t], `${TOOL_NAMES[t]} (${keys[t].toUpperCase()})`, () => this.setTool(t), { attrs: { "data-tool": t, "aria-pressed": String(t === this.tool) } });
      b.appendChild(h("span", { cls: "nbl-key", text: " " + keys[t] }));
      return b;
    }));
  },

  buildTags() {
    const tagLabels = this.labels.filter((l) => (l.spatial || []).includes("tag"));
    this.tagsG.replaceChildren(...(tagLabels.length ? [h("span", { cls: "nbl-muted", text: "tags:" })] : []),
      ...tagLabels.map((l) => this.chip(l, this.tags.has(l.id), () => this.toggleTag(l.id), "nbl-tag")));
    this.tagsG.classList.toggle("nbl-hidden", !tagLabels.length);
  },

  setTool(t) {
    if (!this.allowedTools().includes(t)) {
      this.msg(`${TOOL_NAMES[t] || t} is not allowed for label "${this.label ? this.label.name : "?"}"`, true);
      return;
    }
    if (this.drawing) this.cancelDrawing();
    this.tool = t;
    this.buildTools();
    this.sync();
    this.requestDraw();
  },

  pickLabel(id) {
    const l = this.labelById.get(id);
    if (!l) return;
    const sp = l.spatial || [];
    if (!sp.some((k) => SPATIAL_TOOLS.includes(k))) {
      if (sp.includes("tag")) this.toggleTag(id);
      return;
    }
    if (this.drawing && this.labelId !== id) this.cancelDrawing();
    this.labelId = id;
    if (this.tool !== "select" && !sp.includes(this.tool)) this.tool = this.firstTool(l);
    // change the label of the selection (instances whose kind the label allows)
    const changes = [];
    for (const inst of this.selected()) {
      if (inst.label_id === id || !sp.includes(inst.kind)) continue;
      const before = this.snap(inst);
      inst.label_id = id;
      changes.push({ inst, before, after: this.snap(inst) });
    }
    if (changes.length) this.commitUpdates(changes, "change label");
    this.buildLabels();
    this.buildTools();
    this.sync();
    this.refreshPanel();
    this.requestDraw(true);
  },
};
