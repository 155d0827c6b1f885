// @ts-check
// The item table's columns as the user meets them: the ones offered for sorting, and the info line
// shown for the item under the pointer (text only; it goes to textContent).

import { cell } from "./tables.js";

/** @typedef {import("./types.js").Items} Items */
/** @typedef {import("./types.js").Item} Item */

const FIXED = ["file_name", "width", "height"];

/**
 * Columns the sort menu offers: the fixed ones, the shown slice columns, then per run tp/fp/fn.
 * @param {Items | null} items
 * @returns {string[]}
 */
export function sortable(items) {
  if (!items) return [];
  const cols = [...FIXED, "n_gt", ...items.columns];
  for (const r of items.runs) cols.push(`tp:${r}`, `fp:${r}`, `fn:${r}`);
  return [...new Set(cols)].filter((c) => c in items.items);
}

/**
 * One line about an item: name, size, the shown columns and the per-run counts.
 * @param {Items} items
 * @param {Item} row
 * @returns {string}
 */
export function infoText(items, row) {
  const parts = [items.names.get(row), `${items.W[row]}×${items.H[row]}`];
  for (const c of items.columns) {
    if (FIXED.includes(c) || !(c in items.items)) continue;
    parts.push(`${c}: ${cell(items.items[c], row)}`);
  }
  const count = (/** @type {string} */ name) => (name in items.items ? cell(items.items[name], row) : "");
  for (const r of items.runs) parts.push(`${r}: tp ${count(`tp:${r}`)} fp ${count(`fp:${r}`)} fn ${count(`fn:${r}`)}`);
  return parts.join("   ");
}
