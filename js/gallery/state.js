// @ts-check
// The selection model of the grid: the view order (a sort permutation of the item rows), the
// selection (item rows) and the keyboard focus (a view position). No DOM, no kernel: the widget asks
// it to change and then redraws and tells the kernel what is selected.

import { Selection, sortOrder } from "./grid.js";

/** @typedef {import("./types.js").Items} Items */
/** @typedef {import("./types.js").Item} Item */
/** @typedef {import("./types.js").Pos} Pos */
/** @typedef {import("./types.js").ClickMods} ClickMods */

export class GridState {
  constructor() {
    /** view position → item row @type {Uint32Array} */
    this.order = new Uint32Array(0);
    this.sel = new Selection();
    /** @type {Pos} */
    this.focus = -1;
    /** the sort applied: "" as loaded, "name" ascending, "-name" descending */
    this.sort = "";
  }

  get n() {
    return this.order.length;
  }

  /**
   * New tables: rows as loaded, nothing selected or focused.
   * @param {number} n
   */
  reset(n) {
    this.order = sortOrder(n, null);
    this.sel.clear();
    this.focus = -1;
  }

  /**
   * Order the rows by a column of the item table (within their group, when the table has groups);
   * the selection, its anchor and the focused item stay.
   * @param {Items} items
   * @param {string} spec "" | "name" | "-name"
   */
  sortBy(items, spec) {
    this.sort = spec || "";
    const name = this.sort.replace(/^-/, "");
    const old = this.order;
    this.order = sortOrder(items.n, name ? items.items[name] : null, this.sort.startsWith("-"), items.group);
    this.sel.reorder(old, this.order);
    if (this.focus >= 0) this.focus = this.order.indexOf(old[this.focus]);
  }

  /**
   * A click on position p: select it (toggle, range from the anchor), and focus it.
   * @param {Pos} p
   * @param {ClickMods} [mods]
   */
  click(p, mods = {}) {
    this.sel.click(p, this.order, mods);
    this.focus = p;
  }

  /**
   * Move the focus (clamped to the grid); with shift, select the range from the anchor to it.
   * Returns the new focus, and whether the selection changed.
   * @param {Pos} p
   * @param {ClickMods} [mods]
   * @returns {{focus: Pos, selected: boolean}}
   */
  moveFocus(p, mods = {}) {
    const q = Math.max(0, Math.min(this.n - 1, p));
    let selected = false;
    if (mods.shift) {
      if (this.sel.anchor < 0) this.sel.anchor = Math.max(0, this.focus);
      this.sel.click(q, this.order, { shift: true, toggle: !!mods.toggle });
      selected = true;
    }
    this.focus = q;
    return { focus: q, selected };
  }

  /** Space: toggle the focused item. False when nothing is focused. */
  toggleFocused() {
    if (this.focus < 0) return false;
    this.sel.click(this.focus, this.order, { toggle: true });
    return true;
  }

  clear() {
    this.sel.clear();
  }

  selectAll() {
    this.sel.selectAll(this.order);
  }

  /**
   * The item shown at a view position.
   * @param {Pos} p
   * @returns {Item}
   */
  item(p) {
    return this.order[p];
  }

  /** @param {Item} row */
  isSelected(row) {
    return this.sel.has(row);
  }

  get selectedCount() {
    return this.sel.size;
  }

  /**
   * The selected items' media ids, in view order.
   * @param {Items} items
   * @returns {number[]}
   */
  selectedIds(items) {
    return this.sel.inOrder(this.order).map((row) => items.mediaIds[row]);
  }
}
