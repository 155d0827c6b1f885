// @ts-check
// The label picker's DOM: a small popup under the label chips with a text field and the matching
// labels (picker.js ranks them). Typing filters, ↑ / ↓ move, Enter or a click picks, Esc or a click
// elsewhere closes. Label names are text (textContent), never HTML.
import { h } from "../shared/dom.js";
import { rankLabels, drawable } from "./picker.js";
import { colorOfLabel } from "./state.js";

/** @typedef {import("./state.js").State} State */
/** @typedef {import("./types.js").Label} Label */

export class LabelPicker {
  /**
   * @param {object} o
   * @param {State} o.state
   * @param {HTMLElement} o.root the widget's root (positioned): the popup goes in it
   * @param {HTMLElement} o.anchor the element the popup opens under (the label chips)
   * @param {(id: number) => void} o.pick a label was chosen
   */
  constructor({ state, root, anchor, pick }) {
    this.state = state;
    this.root = root;
    this.anchor = anchor;
    this.pick = pick;
    /** The rows shown, best match first. @type {Label[]} */
    this.matches = [];
    this.active = 0;
    this.input = /** @type {HTMLInputElement} */ (h("input", { cls: "nbl-picker-input", attrs: {
      type: "text", placeholder: "type to filter labels", "aria-label": "filter labels", role: "combobox",
      "aria-autocomplete": "list", "aria-expanded": "true", autocomplete: "off", spellcheck: "false",
    } }));
    this.list = h("div", { cls: "nbl-picker-list", attrs: { role: "listbox", "aria-label": "labels" } });
    this.box = h("div", { cls: "nbl-picker nbl-hidden", attrs: { "aria-label": "pick a label" } }, [this.input, this.list]);
    this.input.addEventListener("input", () => { this.active = 0; this.render(); });
    this.input.addEventListener("keydown", (e) => this.key(e));
    this.box.addEventListener("focusout", (e) => {
      const to = /** @type {Node | null} */ (e.relatedTarget);
      if (!to || !this.box.contains(to)) this.close(false);
    });
    root.appendChild(this.box);
  }

  get isOpen() { return !this.box.classList.contains("nbl-hidden"); }

  /** Show the popup under the anchor with an empty query and the keyboard in its field. */
  open() {
    this.input.value = "";
    this.active = 0;
    this.box.classList.remove("nbl-hidden");
    this.root.dataset.picker = "1";
    this.place();
    this.render();
    this.input.focus({ preventScroll: true });
  }

  /** @param {boolean} [refocus] give the keyboard back to the widget */
  close(refocus = true) {
    if (!this.isOpen) return;
    this.box.classList.add("nbl-hidden");
    this.root.dataset.picker = "0";
    if (refocus) this.root.focus({ preventScroll: true });
  }

  place() {
    const a = this.anchor;
    this.box.style.top = `${a.offsetTop + a.offsetHeight + 2}px`;
    const room = this.root.clientWidth - this.box.offsetWidth - 4;
    this.box.style.left = `${Math.max(4, Math.min(a.offsetLeft, room))}px`;
  }

  /** Rebuild the rows from the query (also after a schema change while open). */
  render() {
    const s = this.state;
    this.matches = rankLabels(drawable(s.labels), this.input.value, s.recent);
    if (this.active >= this.matches.length) this.active = Math.max(0, this.matches.length - 1);
    /** @type {Map<number, string>} */
    const keyOf = new Map();
    for (const [k, id] of s.labelKeys) if (!keyOf.has(id)) keyOf.set(id, k.toLowerCase());
    const rows = this.matches.map((l, i) => {
      const row = h("div", { cls: "nbl-picker-row", attrs: { role: "option", "data-label-id": l.id, "aria-selected": String(i === this.active), title: l.name } }, [
        h("span", { cls: "nbl-swatch", style: { background: colorOfLabel(s, l.id) } }),
        h("span", { cls: "nbl-picker-name", text: l.name }),
        h("span", { cls: "nbl-key", text: keyOf.get(l.id) || "" }),
      ]);
      row.addEventListener("mousedown", (e) => e.preventDefault()); // the field keeps the keyboard
      row.addEventListener("mousemove", () => { if (this.active !== i) this.setActive(i); });
      row.addEventListener("click", (e) => { e.preventDefault(); this.choose(i); });
      return row;
    });
    this.list.replaceChildren(...(rows.length ? rows : [h("div", { cls: "nbl-muted nbl-picker-empty", text: `no label matches "${this.input.value.trim()}"` })]));
    this.root.dataset.pickerMatches = this.matches.map((l) => l.id).join(",");
    this.setActive(this.active);
  }

  /** @param {number} i */
  setActive(i) {
    const rows = this.list.children;
    if (!this.matches.length) { this.root.dataset.pickerActive = ""; return; }
    this.active = Math.max(0, Math.min(i, this.matches.length - 1));
    for (let j = 0; j < rows.length; j++) rows[j].setAttribute("aria-selected", String(j === this.active));
    this.root.dataset.pickerActive = String(this.matches[this.active].id);
    const row = /** @type {HTMLElement} */ (rows[this.active]);
    const l = this.list;
    if (row.offsetTop < l.scrollTop) l.scrollTop = row.offsetTop;
    else if (row.offsetTop + row.offsetHeight > l.scrollTop + l.clientHeight) l.scrollTop = row.offsetTop + row.offsetHeight - l.clientHeight;
  }

  /** @param {number} i */
  choose(i) {
    const l = this.matches[i];
    if (!l) return;
    this.close();
    this.pick(l.id);
  }

  /** Keys of the field: the rest (letters, Backspace, caret keys) edit the query. @param {KeyboardEvent} e */
  key(e) {
    const n = this.matches.length;
    switch (e.key) {
      case "ArrowDown": e.preventDefault(); if (n) this.setActive((this.active + 1) % n); return;
      case "ArrowUp": e.preventDefault(); if (n) this.setActive((this.active - 1 + n) % n); return;
      case "PageDown": e.preventDefault(); this.setActive(this.active + 8); return;
      case "PageUp": e.preventDefault(); this.setActive(this.active - 8); return;
      case "Enter": e.preventDefault(); this.choose(this.active); return;
      case "Escape": e.preventDefault(); this.close(); return;
      default: return;
    }
  }
}
