// @ts-check
// Keyboard map: pure functions turning a key event into an action for the annotator.

import { usesPicker, quickLabels } from "./picker.js";

/** @typedef {import("./types.js").Action} Action an action of the annotator (keys, buttons, panel) */

/** Normalized key name, e.g. "S", "Shift+S", "Ctrl+Shift+Z", "ArrowRight", "?", "Space". */
/** @param {{key: string, ctrlKey?: boolean, metaKey?: boolean, altKey?: boolean, shiftKey?: boolean}} e */
export function keyName(e) {
  let k = e.key;
  if (k === " " || k === "Spacebar") k = "Space";
  const isChar = k.length === 1;
  const isLetter = isChar && /[a-z]/i.test(k);
  if (isLetter) k = k.toUpperCase();
  const mods = [];
  if (e.ctrlKey || e.metaKey) mods.push("Ctrl");
  if (e.altKey) mods.push("Alt");
  // For symbols the shifted character is already in e.key ("?", "+"): do not add Shift.
  if (e.shiftKey && (!isChar || isLetter)) mods.push("Shift");
  return [...mods, k].join("+");
}

/** @type {Record<string, import("./types.js").ToolName>} */
export const TOOL_KEYS = { B: "box", P: "polygon", K: "keypoints", O: "point", L: "line", S: "select", V: "select" };
/** @type {Record<string, string>} */
export const TOOL_NAMES = { box: "Box", polygon: "Polygon", keypoints: "Keypoints", point: "Point", line: "Line", select: "Select" };

/** Every shortcut, for the `?` overlay: [keys, description]. @type {[string, string][]} */
export const SHORTCUTS = [
  ["1–9 / label hotkey", "pick label (changes the label of the selection; toggles a whole-image tag); with more than 10 labels 1–9 are the 9 last used, most recent first"],
  ["/", "label picker: type to filter, ↑ / ↓ and Enter pick, Esc closes"],
  ["B", "box tool: drag to draw; drag handles to resize; drag inside to move"],
  ["P", "polygon tool: click vertices; click first point or Enter closes; Esc cancels"],
  ["K", "keypoints tool: click points in template order"],
  ["V (while placing keypoints)", "next point is labeled but not visible"],
  ["N (while placing keypoints)", "skip the next point (not labeled)"],
  ["O", "point tool"],
  ["L", "line tool: click points; Enter or double-click finishes"],
  ["S / V", "select tool: click, Shift+click, drag a rubber band"],
  ["Alt+click on an edge", "insert a polygon/line vertex (plain click on the edge of the selected shape too)"],
  ["Delete / Backspace", "delete the selected vertex, else the selection (Backspace removes the last point while drawing)"],
  ["Arrow keys (Shift ×10)", "move the selection by 1 px"],
  ["Ctrl+D", "duplicate the selection"],
  ["Ctrl+A", "select all"],
  ["Shift+C", "copy the selection to the next image"],
  ["Ctrl+Z", "undo"],
  ["Ctrl+Shift+Z / Ctrl+Y", "redo"],
  ["A", "accept the selected / hovered prediction into ground truth"],
  ["R", "reject the selected / hovered prediction"],
  ["Review mode: A / X / Y", "verdict: accept prediction / delete GT / confirm GT"],
  ["→ / N (nothing selected)", "next item"],
  ["←", "previous item"],
  ["Enter / C", "complete the item (when nothing is being drawn)"],
  ["Shift+S", "skip the item (asks for a reason)"],
  ["Esc", "cancel drawing, clear the selection, close this help"],
  ["Mouse wheel", "zoom at the cursor"],
  ["Space+drag / middle drag", "pan"],
  ["F", "fit the image"],
  ["0", "zoom 1:1"],
  ["+ / -", "zoom in / out"],
  ["?", "show / hide this help"],
];

/** Keys that are never handled here and always left to the host (run cell, save notebook). */
export const PASS_THROUGH = new Set(["Shift+Enter", "Ctrl+Enter", "Alt+Enter", "Ctrl+S", "Ctrl+Shift+S", "Tab", "Shift+Tab"]);

const DIGIT = /^[1-9]$/;

/**
 * Map of label hotkeys: label.hotkey when set, else the digit of its position (1–9) when free.
 * With more than PICKER_THRESHOLD drawable labels (the picker), digits 1–9 are the recent labels
 * instead (`quickLabels`: most recent first, then schema order) and only non-digit hotkeys are kept.
 * @param {import("./types.js").Label[]} labels
 * @param {number[]} [recent] label ids, most recent first
 * @returns {Map<string, number>} key name -> label id
 */
export function labelKeymap(labels, recent = []) {
  const m = new Map();
  if (usesPicker(labels)) {
    for (const l of labels) if (l.hotkey && !DIGIT.test(String(l.hotkey))) m.set(keyName({ key: String(l.hotkey) }), l.id);
    quickLabels(labels, recent).forEach((l, i) => m.set(String(i + 1), l.id));
    return m;
  }
  for (const l of labels) if (l.hotkey) m.set(keyName({ key: String(l.hotkey) }), l.id);
  labels.slice(0, 9).forEach((l, i) => {
    const k = String(i + 1);
    if (!l.hotkey && !m.has(k)) m.set(k, l.id);
  });
  return m;
}

/**
 * Resolve a key to an action.
 * ctx = {drawing: null|"polygon"|"line"|"keypoints", hasSelection, mode, labelKeys: Map}
 * @param {string} key
 * @param {{drawing: string | null, hasSelection: boolean, mode?: string, labelKeys?: Map<string, number>}} ctx
 * @returns {Action | null}
 */
export function resolveKey(key, ctx) {
  const d = ctx.drawing;
  if (d === "keypoints") {
    if (key === "V") return { action: "kp_not_visible" };
    if (key === "N") return { action: "kp_skip" };
  }
  if (d) {
    if (key === "Enter") return { action: "finish_drawing" };
    if (key === "Escape") return { action: "cancel_drawing" };
    if (key === "Backspace") return { action: "undo_point" };
  }
  switch (key) {
    case "Ctrl+Z": return { action: "undo" };
    case "Ctrl+Shift+Z": case "Ctrl+Y": return { action: "redo" };
    case "Ctrl+D": return { action: "duplicate" };
    case "Ctrl+A": return { action: "select_all" };
    case "Shift+C": return { action: "copy_to_next" };
    case "?": return { action: "help" };
    case "/": return { action: "picker" };
    case "Escape": return { action: "escape" };
    case "Delete": case "Backspace": return { action: "delete" };
    case "F": return { action: "fit" };
    case "0": return { action: "one_to_one" };
    case "+": case "=": return { action: "zoom", arg: 1.25 };
    case "-": case "_": return { action: "zoom", arg: 0.8 };
    case "Shift+S": return { action: "skip" };
    case "Enter": case "C": return d ? null : { action: "complete" };
    case "ArrowLeft": case "ArrowRight": case "ArrowUp": case "ArrowDown":
    case "Shift+ArrowLeft": case "Shift+ArrowRight": case "Shift+ArrowUp": case "Shift+ArrowDown": {
      if (ctx.hasSelection) {
        const step = key.startsWith("Shift+") ? 10 : 1;
        const dir = key.replace("Shift+", "");
        const dx = dir === "ArrowLeft" ? -step : dir === "ArrowRight" ? step : 0;
        const dy = dir === "ArrowUp" ? -step : dir === "ArrowDown" ? step : 0;
        return { action: "nudge", arg: [dx, dy] };
      }
      if (key === "ArrowRight") return { action: "next" };
      if (key === "ArrowLeft") return { action: "prev" };
      return null;
    }
    default: break;
  }
  const labelId = ctx.labelKeys && ctx.labelKeys.get(key);
  if (labelId != null) return { action: "label", arg: labelId };
  if (ctx.mode === "review") {
    if (key === "A") return { action: "verdict", arg: "accept_pred" };
    if (key === "X") return { action: "verdict", arg: "delete_gt" };
    if (key === "Y") return { action: "verdict", arg: "confirm_gt" };
  }
  if (key === "A") return { action: "accept" };
  if (key === "R") return { action: "reject" };
  if (key === "N") return { action: "next" };
  if (TOOL_KEYS[key]) return { action: "tool", arg: TOOL_KEYS[key] };
  return null;
}
