// @ts-check
// The label picker's logic, without DOM: when the toolbar switches from chips to the picker, how a
// typed query ranks the labels (exact > prefix > word start > substring, case-insensitive), and the
// list of recently used labels that keys 1–9 pick (most recent first). pickermenu.js is its DOM.
import { SPATIAL_TOOLS } from "./common.js";

/** @typedef {import("./types.js").Label} Label */

/** More drawable labels than this: the toolbar shows the picker and the recent labels, not every chip. */
export const PICKER_THRESHOLD = 10;
/** How many recent labels are kept (one per key 1–9). */
export const RECENT_MAX = 9;

/** The labels drawn on the image (chips or picker rows); tags have their own chips. @param {Label[]} labels */
export const drawable = (labels) => labels.filter((l) => (l.spatial || []).some((k) => SPATIAL_TOOLS.includes(k)));

/** Whether the labels are too many for chips. @param {Label[]} labels @returns {boolean} */
export const usesPicker = (labels) => drawable(labels).length > PICKER_THRESHOLD;

/** Characters that start a new word inside a label name ("traffic light", "hair_drier", "t-shirt"). */
const WORD_BREAK = /[\s_\-./:,;()[\]{}+&]/;

/**
 * How well `name` matches the lower-case query `q`: 0 exact, 1 prefix, 2 a word starts with it,
 * 3 substring, -1 no match (an empty query matches everything as a substring).
 * @param {string} name @param {string} q lower-cased, trimmed
 * @returns {number}
 */
export function matchRank(name, q) {
  const n = name.toLowerCase();
  if (!q) return 3;
  if (n === q) return 0;
  if (n.startsWith(q)) return 1;
  for (let i = n.indexOf(q, 1); i > 0; i = n.indexOf(q, i + 1)) if (WORD_BREAK.test(n[i - 1])) return 2;
  return n.includes(q) ? 3 : -1;
}

/**
 * The labels matching `query`, best first: exact, prefix, word start, substring; within a rank the
 * recent labels (most recent first), then schema order. An empty query lists every label that way.
 * @param {Label[]} labels in schema order
 * @param {string} query what the user typed
 * @param {number[]} [recent] label ids, most recent first
 * @returns {Label[]}
 */
export function rankLabels(labels, query, recent = []) {
  const q = query.trim().toLowerCase();
  const recency = new Map(recent.map((id, i) => [id, i]));
  const scored = [];
  for (let i = 0; i < labels.length; i++) {
    const r = matchRank(labels[i].name, q);
    if (r < 0) continue;
    const rec = recency.get(labels[i].id);
    scored.push({ l: labels[i], r, order: rec == null ? recent.length + i : rec });
  }
  scored.sort((a, b) => a.r - b.r || a.order - b.order);
  return scored.map((x) => x.l);
}

/**
 * The recent list after label `id` was used: it moves to the front, at most RECENT_MAX kept.
 * @param {number[]} recent most recent first @param {number} id
 * @returns {number[]}
 */
export function pushRecent(recent, id) {
  return [id, ...recent.filter((x) => x !== id)].slice(0, RECENT_MAX);
}

/**
 * A recent list from outside (the widget's synced state) made safe: ids of drawable labels that
 * exist, each once, at most RECENT_MAX.
 * @param {unknown} ids @param {Label[]} labels
 * @returns {number[]}
 */
export function cleanRecent(ids, labels) {
  if (!Array.isArray(ids)) return [];
  const ok = new Set(drawable(labels).map((l) => l.id));
  /** @type {number[]} */
  const out = [];
  for (const x of ids) if (typeof x === "number" && ok.has(x) && !out.includes(x)) out.push(x);
  return out.slice(0, RECENT_MAX);
}

/**
 * The labels on keys 1–9 and shown as chips next to the picker: the recent ones, then (until nine
 * were used) the first drawable labels in schema order.
 * @param {Label[]} labels @param {number[]} recent
 * @returns {Label[]}
 */
export function quickLabels(labels, recent) {
  const dr = drawable(labels);
  const byId = new Map(dr.map((l) => [l.id, l]));
  const out = /** @type {Label[]} */ (recent.map((id) => byId.get(id)).filter(Boolean));
  for (const l of dr) {
    if (out.length >= RECENT_MAX) break;
    if (!out.includes(l)) out.push(l);
  }
  return out.slice(0, RECENT_MAX);
}
