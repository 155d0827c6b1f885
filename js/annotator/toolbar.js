// @ts-check
// The top bar's state-dependent groups: label chips, the tools the current label allows, and the
// whole-image tag chips. Clicks dispatch actions; `render*` rebuild a group from the state.
// With more than PICKER_THRESHOLD drawable labels the label group is the picker's button and the
// chips of the labels on keys 1–9 (the recent ones), and wraps inside the bar instead of overflowing.
import { h } from "../shared/dom.js";
import { TOOL_NAMES } from "./hotkeys.js";
import { allowedTools, colorOfLabel } from "./state.js";
import { button } from "./layout.js";
import { drawable, usesPicker, quickLabels } from "./picker.js";
import { LabelPicker } from "./pickermenu.js";

/** @typedef {import("./state.js").State} State */
/** @typedef {import("./types.js").Label} Label */

/** @type {Record<string, string>} */
const TOOL_KEY = { select: "s", box: "b", polygon: "p", keypoints: "k", point: "o", line: "l" };

export class Toolbar {
  /**
   * @param {object} o
   * @param {State} o.state
   * @param {{root: HTMLElement, labelsG: HTMLElement, toolsG: HTMLElement, tagsG: HTMLElement}} o.dom
   * @param {import("./layout.js").Dispatch} o.dispatch
   */
  constructor({ state, dom, dispatch }) {
    this.state = state;
    this.dom = dom;
    this.dispatch = dispatch;
    this.picker = new LabelPicker({ state, root: dom.root, anchor: dom.labelsG, pick: (id) => dispatch({ action: "label", arg: id }) });
  }

  /** Open the label picker (the "/" key, its button). */
  openPicker() {
    if (drawable(this.state.labels).length) this.picker.open();
  }

  /** @param {number} id */
  keyOfLabel(id) {
    for (const [k, v] of this.state.labelKeys) if (v === id) return k.toLowerCase();
    return "";
  }

  /** @param {Label} label @param {boolean} pressed @param {() => void} onClick @param {string} cls */
  chip(label, pressed, onClick, cls) {
    /** @type {HTMLElement} */
    const c = h("button", { cls: "nbl-chip " + cls, attrs: { type: "button", tabindex: -1, "aria-pressed": String(!!pressed), "data-label-id": label.id, title: label.name } }, [
      h("span", { cls: "nbl-swatch", style: { background: colorOfLabel(this.state, label.id) } }),
      h("span", { cls: "nbl-chip-name", text: label.name }),
      h("span", { cls: "nbl-key", text: this.keyOfLabel(label.id) }),
    ]);
    c.addEventListener("mousedown", (e) => e.preventDefault());
    c.addEventListener("click", (e) => { e.preventDefault(); onClick(); this.dom.root.focus({ preventScroll: true }); });
    return c;
  }

  renderLabels() {
    const s = this.state;
    const spatial = drawable(s.labels);
    const many = usesPicker(s.labels);
    /** @param {Label} l */
    const chipOf = (l) => this.chip(l, l.id === s.labelId, () => this.dispatch({ action: "label", arg: l.id }), "nbl-label");
    if (many) {
      const quick = quickLabels(s.labels, s.recent);
      const cur = s.labelId == null ? undefined : s.labelById.get(s.labelId);
      if (cur && spatial.includes(cur) && !quick.includes(cur)) quick.push(cur);
      const open = button(this.dom.root, `${spatial.length} labels…`, "search the labels (/)", () => this.openPicker(), { "data-action": "picker" });
      open.appendChild(h("span", { cls: "nbl-key", text: " /" }));
      this.dom.labelsG.replaceChildren(open, ...quick.map(chipOf));
    } else this.dom.labelsG.replaceChildren(...spatial.map(chipOf));
    this.dom.labelsG.classList.toggle("nbl-many", many);
    this.dom.labelsG.classList.toggle("nbl-hidden", !spatial.length);
    if (this.picker.isOpen) this.picker.render();
  }

  renderTools() {
    const s = this.state;
    this.dom.toolsG.replaceChildren(...allowedTools(s).map((t) => {
      const b = button(this.dom.root, TOOL_NAMES[t], `${TOOL_NAMES[t]} (${TOOL_KEY[t].toUpperCase()})`, () => this.dispatch({ action: "tool", arg: t }), { "data-tool": t, "aria-pressed": String(t === s.tool) });
      b.appendChild(h("span", { cls: "nbl-key", text: " " + TOOL_KEY[t] }));
      return b;
    }));
  }

  renderTags() {
    const s = this.state;
    const tagLabels = s.labels.filter((l) => (l.spatial || []).includes("tag"));
    this.dom.tagsG.replaceChildren(...(tagLabels.length ? [h("span", { cls: "nbl-muted", text: "tags:" })] : []),
      ...tagLabels.map((l) => this.chip(l, s.tags.has(l.id), () => this.dispatch({ action: "tag", arg: l.id }), "nbl-tag")));
    this.dom.tagsG.classList.toggle("nbl-hidden", !tagLabels.length);
  }

  render() {
    this.renderLabels();
    this.renderTools();
    this.renderTags();
  }

  /** Mark the current tool's button pressed (cheap; on every sync). */
  syncTools() {
    for (const b of this.dom.toolsG.querySelectorAll("button")) {
      const v = String(b.dataset.tool === this.state.tool);
      if (b.getAttribute("aria-pressed") !== v) b.setAttribute("aria-pressed", v);
    }
  }
}
