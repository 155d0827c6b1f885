// @ts-check
// The annotator's state as one plain object (what is shown, selected, drawn) and the pure
// selectors every part reads it through. Parts change it only in their own area (the editor the
// instances, the loader the item and image, the app the selection and the mode).
import { View } from "./view.js";
import { labelKeymap } from "./hotkeys.js";
import { pushRecent, cleanRecent } from "./picker.js";
import { paletteColor } from "./render.js";
import { SPATIAL_TOOLS, safeColor } from "./common.js";

/** @typedef {import("./types.js").Inst} Inst */
/** @typedef {import("./types.js").Label} Label */
/** @typedef {import("./types.js").ToolName} ToolName */

/**
 * @typedef {object} State
 * @property {import("./types.js").Item | null} item the item shown
 * @property {number | null} index its queue position
 * @property {number} W original width (px)
 * @property {number} H original height (px)
 * @property {Map<string, Inst>} inst ground truth of the item, by key
 * @property {Inst[]} preds predictions of the item
 * @property {Set<number>} tags whole-image tag label ids
 * @property {Set<string>} sel selected ground-truth keys
 * @property {{key: string, index: number} | null} selVertex
 * @property {Inst | null} selPred
 * @property {Inst | null} hover
 * @property {Inst | null} hoverPred
 * @property {import("./types.js").Mode} mode the pointer state machine
 * @property {("v" | "n")[] | null} pendingKp keypoint marks typed before the first point
 * @property {boolean} spaceHeld
 * @property {ToolName} tool
 * @property {number | null} labelId
 * @property {Label[]} labels
 * @property {import("./types.js").Attribute[]} attrs
 * @property {Map<number, Label>} labelById
 * @property {Map<string, number>} labelKeys key name -> label id
 * @property {number[]} recent drawable label ids last used, most recent first (keys 1–9 with the picker)
 * @property {import("./types.js").Run[]} runs
 * @property {string} queueMode "label" | "review"
 * @property {import("./types.js").Focus | null} focusTrait
 * @property {string | null} author
 * @property {View} view
 * @property {import("./types.js").ImageState} image
 * @property {{brightness: number, contrast: number, threshold: number, hiddenRuns: Set<string>, showGT: boolean}} display
 */

/** @returns {State} */
export function createState() {
  return {
    item: null, index: null, W: 0, H: 0,
    inst: new Map(), preds: [], tags: new Set(),
    sel: new Set(), selVertex: null, selPred: null, hover: null, hoverPred: null,
    mode: { type: "idle" }, pendingKp: null, spaceHeld: false,
    tool: "select", labelId: null, labels: [], attrs: [], labelById: new Map(), labelKeys: new Map(), recent: [],
    runs: [], queueMode: "label", focusTrait: null, author: null,
    view: new View(),
    image: { bitmap: null, scale: 1, low: null, lowScale: 0 },
    display: { brightness: 100, contrast: 100, threshold: 0, hiddenRuns: new Set(), showGT: true },
  };
}

/**
 * Take a (new) schema; keep the chosen label when it still exists, else pick the first one.
 * @param {State} s
 * @param {import("./types.js").Schema | null | undefined} schema
 */
export function applySchema(s, schema) {
  const sc = schema || {};
  s.labels = sc.labels || [];
  s.attrs = sc.attributes || [];
  s.labelById = new Map(s.labels.map((l) => [l.id, l]));
  s.recent = cleanRecent(s.recent, s.labels);
  s.labelKeys = labelKeymap(s.labels, s.recent);
  if (s.labelId == null || !s.labelById.has(s.labelId)) {
    const first = s.labels[0];
    s.labelId = first ? first.id : null;
    s.tool = firstTool(first);
  }
}

/**
 * Take a recent list from outside (the synced trait); ids of labels that are gone are dropped.
 * @param {State} s @param {unknown} ids
 */
export function setRecent(s, ids) {
  s.recent = cleanRecent(ids, s.labels);
  s.labelKeys = labelKeymap(s.labels, s.recent);
}

/**
 * Label `id` was picked: it becomes the most recent one (keys follow). Returns whether the list changed.
 * @param {State} s @param {number} id @returns {boolean}
 */
export function useLabel(s, id) {
  const next = cleanRecent(pushRecent(s.recent, id), s.labels);
  if (next.length === s.recent.length && next.every((x, i) => x === s.recent[i])) return false;
  s.recent = next;
  s.labelKeys = labelKeymap(s.labels, s.recent);
  return true;
}

/** @param {Label | undefined} label @returns {ToolName} */
export function firstTool(label) {
  const t = label && (label.spatial || []).find((k) => SPATIAL_TOOLS.includes(k));
  return /** @type {ToolName} */ (t || "select");
}

/** @param {State} s */
export const currentLabel = (s) => (s.labelId == null ? undefined : s.labelById.get(s.labelId));

/** @param {State} s @returns {ToolName[]} */
export function allowedTools(s) {
  const l = currentLabel(s);
  return ["select", .../** @type {ToolName[]} */ (((l && l.spatial) || []).filter((k) => SPATIAL_TOOLS.includes(k)))];
}

/** @param {State} s @param {number | null} id */
export const labelName = (s, id) => (id == null ? "" : (s.labelById.get(id) || { name: "" }).name);

/** The selected ground truth, in selection order. @param {State} s @returns {Inst[]} */
export function selected(s) {
  const out = [];
  for (const k of s.sel) { const i = s.inst.get(k); if (i) out.push(i); }
  return out;
}

/** The one selected instance, or null. @param {State} s */
export const single = (s) => (s.sel.size === 1 ? selected(s)[0] || null : null);

/** Ground truth drawn on the image (not tags; none while GT is hidden). @param {State} s @returns {Inst[]} */
export function gtList(s) {
  if (!s.display.showGT) return [];
  const out = [];
  for (const i of s.inst.values()) if (i.kind !== "tag") out.push(i);
  return out;
}

/** Predictions drawn: not accepted/rejected, run shown, score over the threshold. @param {State} s */
export function visiblePreds(s) {
  const d = s.display;
  return s.preds.filter((p) => !p.hidden && !d.hiddenRuns.has(p.run || "") && (p.score == null || p.score >= d.threshold));
}

/** The review focus of the item (item.focus wins over the synced trait). @param {State} s */
export function focusOf(s) {
  if (s.item && s.item.focus !== undefined) return s.item.focus;
  return s.focusTrait;
}

/** @param {State} s @param {number | null} id */
export function colorOfLabel(s, id) {
  const l = id == null ? undefined : s.labelById.get(id);
  if (l && safeColor(l.color)) return /** @type {string} */ (l.color);
  const i = s.labels.findIndex((x) => x.id === id);
  return paletteColor(i < 0 ? 0 : i);
}

/** @param {State} s @param {string | null | undefined} name */
export function runColor(s, name) {
  const i = s.runs.findIndex((r) => r.name === name);
  if (i >= 0 && safeColor(s.runs[i].color)) return /** @type {string} */ (s.runs[i].color);
  return paletteColor(7 + (i < 0 ? 0 : i) * 3);
}

/**
 * The tool whose drawing is in progress ("" when none), also while a pan interrupts it.
 * @param {import("./types.js").Mode} m @returns {string}
 */
export function drawingOf(m) {
  switch (m.type) {
    case "draw_box": return "box";
    case "draw_point": return "point";
    case "draw_path": return m.kind;
    case "draw_keypoints": return "keypoints";
    case "pan": return drawingOf(m.resume);
    default: return "";
  }
}

/** A multi-click drawing (polygon, line, keypoints) in progress, or null. @param {import("./types.js").Mode} m */
export function openDrawing(m) {
  if (m.type === "pan") return openDrawing(m.resume);
  return m.type === "draw_path" || m.type === "draw_keypoints" ? m : null;
}
