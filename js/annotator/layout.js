// @ts-check
// The annotator's DOM: top bar, stage (canvas, help overlay, skip dialog), side panel and queue bar.
// Buttons only dispatch actions; the parts that fill the containers are the toolbar and the panel.
import { h } from "../shared/dom.js";
import { CSS } from "./styles.js";
import { SHORTCUTS } from "./hotkeys.js";
import { isTyping } from "./common.js";

/** @typedef {import("./hotkeys.js").Action} Action */
/** @typedef {(a: Action) => void} Dispatch */

/**
 * A toolbar button that keeps the keyboard focus on the widget.
 * @param {HTMLElement} root @param {string} text @param {string} title @param {() => void} onClick
 * @param {Record<string, string>} [attrs]
 * @returns {HTMLButtonElement}
 */
export function button(root, text, title, onClick, attrs = {}) {
  const b = /** @type {HTMLButtonElement} */ (h("button", { cls: "nbl-btn", text, attrs: { type: "button", title, tabindex: -1, ...attrs } }));
  b.addEventListener("mousedown", (e) => e.preventDefault());
  b.addEventListener("click", (e) => {
    e.preventDefault();
    onClick();
    if (!isTyping(document.activeElement)) root.focus({ preventScroll: true });
  });
  return b;
}

/**
 * Build the DOM into `el`.
 * @param {HTMLElement} el @param {Dispatch} dispatch
 * @param {{brightness: number, contrast: number}} display initial slider values
 */
export function buildLayout(el, dispatch, display) {
  // data-lm-suppress-shortcuts: JupyterLab/Lumino ignore their key bindings for events from inside
  const root = h("div", { cls: "nblabel-annotator", attrs: { tabindex: 0, "data-lm-suppress-shortcuts": "true", "data-p-suppress-shortcuts": "true" } });
  root.appendChild(h("style", { text: CSS }));
  /** @param {string} text @param {string} title @param {Action} a @param {string | null} [name] data-action */
  const act = (text, title, a, name = a.action) => button(root, text, title, () => dispatch(a), name ? { "data-action": name } : {});
  /** @param {"brightness" | "contrast"} name */
  const slider = (name) => {
    const inp = /** @type {HTMLInputElement} */ (h("input", { attrs: { type: "range", min: 0, max: 200, step: 5, title: name, "aria-label": name } }));
    inp.value = String(display[name]);
    inp.addEventListener("input", () => dispatch({ action: name, arg: Number(inp.value) }));
    return h("label", { cls: "nbl-slider", attrs: { title: name } }, [h("span", { text: name === "brightness" ? "☀" : "◑" }), inp]);
  };
  const labelsG = h("div", { cls: "nbl-group nbl-labels" });
  const toolsG = h("div", { cls: "nbl-group nbl-tools" });
  const tagsG = h("div", { cls: "nbl-group nbl-tags" });
  const zoomText = h("span", { cls: "nbl-muted nbl-zoom", text: "" });
  const viewG = h("div", { cls: "nbl-group" }, [
    act("Fit", "fit (F)", { action: "fit" }), act("1:1", "one image pixel per screen pixel (0)", { action: "one_to_one" }),
    act("−", "zoom out (-)", { action: "zoom", arg: 0.8 }, null), act("+", "zoom in (+)", { action: "zoom", arg: 1.25 }, null),
    zoomText, slider("brightness"), slider("contrast"),
  ]);
  const undoBtn = act("↶", "undo (Ctrl+Z)", { action: "undo" });
  const redoBtn = act("↷", "redo (Ctrl+Shift+Z)", { action: "redo" });
  const editG = h("div", { cls: "nbl-group" }, [
    undoBtn, redoBtn, act("Dup", "duplicate selection (Ctrl+D)", { action: "duplicate" }),
    act("Del", "delete selection (Delete)", { action: "delete" }), act("→next", "copy selection to the next image (Shift+C)", { action: "copy_to_next" }),
  ]);
  const saveSpan = h("span", { cls: "nbl-save", text: "saved", attrs: { "data-state": "saved", title: "save state" } });
  root.appendChild(h("div", { cls: "nbl-bar nbl-top" }, [labelsG, toolsG, tagsG, viewG, editG, saveSpan, act("?", "keyboard shortcuts (?)", { action: "help" })]));
  // stage + side panel
  const canvas = /** @type {HTMLCanvasElement} */ (h("canvas", { cls: "nblabel-canvas" }));
  const help = h("div", { cls: "nbl-help nbl-hidden", attrs: { role: "dialog", "aria-label": "keyboard shortcuts" } });
  help.appendChild(h("div", { text: "Keyboard shortcuts (Esc or ? closes)", style: { "font-weight": "bold", "margin-bottom": "6px" } }));
  help.appendChild(h("table", {}, [h("tbody", {}, SHORTCUTS.map(([k, d]) => h("tr", {}, [h("td", { text: k }), h("td", { text: d })])))]));
  const skipInput = /** @type {HTMLInputElement} */ (h("input", { cls: "nbl-skip-reason", attrs: { type: "text", placeholder: "reason for skipping", "aria-label": "skip reason" } }));
  skipInput.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); dispatch({ action: "skip_confirm" }); }
    if (e.key === "Escape") { e.preventDefault(); dispatch({ action: "skip_cancel" }); }
  });
  const dialog = h("div", { cls: "nbl-dialog nbl-hidden" }, [
    h("span", { text: "Skip:" }), skipInput,
    button(root, "Skip", "skip with this reason", () => dispatch({ action: "skip_confirm" }), { "data-action": "skip-confirm" }),
    button(root, "Cancel", "cancel", () => dispatch({ action: "skip_cancel" })),
  ]);
  const stage = h("div", { cls: "nbl-stage" }, [canvas, help, dialog]);
  const attrBox = h("div", { cls: "nbl-attrs" });
  const selLabelText = h("div", { cls: "nbl-muted nbl-selinfo", text: "" });
  const layersBox = h("div", { cls: "nbl-layers" });
  const reviewBox = h("div", { cls: "nbl-review nbl-hidden" });
  const side = h("div", { cls: "nbl-side" }, [reviewBox, h("h4", { text: "Attributes" }), selLabelText, attrBox, h("h4", { text: "Layers" }), layersBox]);
  root.appendChild(h("div", { cls: "nbl-main" }, [stage, side]));
  // queue bar
  const posText = h("span", { cls: "nbl-pos", text: "" });
  const doneText = h("span", { cls: "nbl-muted nbl-completed", text: "" });
  const fileText = h("span", { cls: "nbl-muted nbl-file", text: "" });
  const msgText = h("span", { cls: "nbl-msg", attrs: { role: "status" } });
  root.appendChild(h("div", { cls: "nbl-bar nbl-queue" }, [
    act("← Prev", "previous (←)", { action: "prev" }), posText, act("Next →", "next (→ / N)", { action: "next" }),
    doneText, fileText, act("Skip…", "skip with a reason (Shift+S)", { action: "skip" }),
    act("Complete ✓", "complete (Enter / C)", { action: "complete" }), msgText,
  ]));
  el.appendChild(root);
  return { root, canvas, stage, help, dialog, skipInput, labelsG, toolsG, tagsG, zoomText, undoBtn, redoBtn, saveSpan, attrBox, selLabelText, layersBox, reviewBox, posText, doneText, fileText, msgText };
}

/** @typedef {ReturnType<typeof buildLayout>} Dom */
