// @ts-check
// The top bar's state-dependent groups: label chips, the tools the current label allows, and the
// whole-image tag chips. Clicks dispatch actions; `render*` rebuild a group from the state.
import { h } from "../shared/dom.js";
import { TOOL_NAMES } from "./hotkeys.js";
import { SPATIAL_TOOLS } from "./common.js";
import { allowedTools, colorOfLabel } from "./state.js";
import { button } from "./layout.js";

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
    const spatial = s.labels.filter((l) => (l.spatial || []).some((k) => SPATIAL_TOOLS.includes(k)));
    this.dom.labelsG.replaceChildren(...spatial.map((l) => this.chip(l, l.id === s.labelId, () => this.dispatch({ action: "label", arg: l.id }), "nbl-label")));
    this.dom.labelsG.classList.toggle("nbl-hidden", !spatial.length);
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
