// @ts-check
// Constants and small helpers shared by the annotator's modules.

/** @type {string[]} */
export const SPATIAL_TOOLS = ["box", "polygon", "keypoints", "point", "line"];
/** @type {Record<string, string>} */
export const HANDLE_CURSOR = { nw: "nwse-resize", se: "nwse-resize", ne: "nesw-resize", sw: "nesw-resize", n: "ns-resize", s: "ns-resize", e: "ew-resize", w: "ew-resize" };
export const TOL = 6; // screen px for hit testing
export const IDLE_MS = 30000; // input older than this does not count as active time

// colours come from data: accept plain CSS colours only (no url(), no extra declarations)
/** @param {unknown} c @returns {boolean} */
export const safeColor = (c) => typeof c === "string" && /^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20}|(rgb|hsl)a?\([\d\s.,%/+-]+\))$/.test(c.trim());
/** A deep copy of JSON data. @template T @param {T} x @returns {T} */
export const deep = (x) => (x == null ? x : JSON.parse(JSON.stringify(x)));
// Elements that keep their own keys. Checkboxes, radios, sliders and buttons do not: shortcuts keep
// working after a click on them.
export const NON_TEXT_INPUTS = new Set(["checkbox", "radio", "range", "button", "color", "submit", "reset"]);
/** @param {EventTarget | Element | null} t @returns {boolean} */
export const isTyping = (t) => {
  if (!t || !("tagName" in t)) return false;
  const el = /** @type {HTMLElement} */ (t);
  return (el.tagName === "INPUT" && !NON_TEXT_INPUTS.has(/** @type {HTMLInputElement} */ (el).type)) || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable;
};
