// DOM of the annotator (bars, stage, side panel, queue bar) and its data-* state attributes.
// Methods of Annotator (app.js mixes them into its prototype; `this` is the widget).
import { h } from "../shared/dom.js";
import { CSS } from "./styles.js";
import { SHORTCUTS } from "./hotkeys.js";
import { isTyping } from "./common.js";

export const LayoutMethods = {
  btn(text, title, onClick, extra = {}) {
    const b = h("button", { cls: "nbl-btn", text, attrs: { type: "button", title, tabindex: -1, ...(extra.attrs || {}) } });
    b.addEventListener("mousedown", (e) => e.preventDefault()); // keep keyboard focus on the widget
    b.addEventListener("click", (e) => {
      e.preventDefault();
      onClick(e);
      if (!isTyping(document.activeElement)) this.root.focus({ preventScroll: true });
    });
    return b;
  },

  buildDom() {
    // data-lm-suppress-shortcuts: JupyterLab/Lumino ignore their key bindings for events from inside
    const root = (this.root = h("div", { cls: "nblabel-annotator", attrs: { tabindex: 0, "data-lm-suppress-shortcuts": "true", "data-p-suppress-shortcuts": "true" } }));
    root.appendChild(h("style", { text: CSS }));
    // top bar
    this.labelsG = h("div", { cls: "nbl-group nbl-labels" });
    this.toolsG = h("div", { cls: "nbl-group nbl-tools" });
    this.tagsG = h("div", { cls: "nbl-group nbl-tags" });
    this.zoomText = h("span", { cls: "nbl-muted nbl-zoom", text: "" });
    const slider = (name, get, set) => {
      const inp = h("input", { attrs: { type: "range", min: 0, max: 200, step: 5, title: name, "aria-label": name } });
      inp.value = String(get());
      inp.addEventListener("input", () => { set(Number(inp.value)); this.requestDraw(true); });
      return h("label", { cls: "nbl-slider", attrs: { title: name } }, [h("span", { text: name === "brightness" ? "☀" : "◑" }), inp]);
    };
    this.brightnessInput = slider("brightness", () => this.brightness, (v) => (this.brightness = v));
    this.contrastInput = slider("contrast", () => this.contrast, (v) => (this.contrast = v));
    const viewG = h("div", { cls: "nbl-group" }, [
      this.btn("Fit", "fit (F)", () => this.act({ action: "fit" }), { attrs: { "data-action": "fit" } }),
      this.btn("1:1", "one image pixel per screen pixel (0)", () => this.act({ action: "one_to_one" }), { attrs: { "data-action": "one_to_one" } }),
      this.btn("−", "zoom out (-)", () => this.act({ action: "zoom", arg: 0.8 })),
      this.btn("+", "zoom in (+)", () => this.act({ action: "zoom", arg: 1.25 })),
      this.zoomText, this.brightnessInput, this.contrastInput,
    ]);
    this.undoBtn = this.btn("↶", "undo (Ctrl+Z)", () => this.act({ action: "undo" }), { attrs: { "data-action": "undo" } });
    this.redoBtn = this.btn("↷", "redo (Ctrl+Shift+Z)", () => this.act({ action: "redo" }), { attrs: { "data-action": "redo" } });
    const editG = h("div", { cls: "nbl-group" }, [
      this.undoBtn, this.redoBtn,
      this.btn("Dup", "duplicate selection (Ctrl+D)", () => this.act({ action: "duplicate" }), { attrs: { "data-action": "duplicate" } }),
      this.btn("Del", "delete selection (Delete)", () => this.act({ action: "delete" }), { attrs: { "data-action": "delete" } }),
      this.btn("→next", "copy selection to the next image (Shift+C)", () => this.act({ action: "copy_to_next" }), { attrs: { "data-action": "copy_to_next" } }),
    ]);
    this.saveSpan = h("span", { cls: "nbl-save", text: "saved", attrs: { "data-state": "saved", title: "save state" } });
    const helpBtn = this.btn("?", "keyboard shortcuts (?)", () => this.act({ action: "help" }), { attrs: { "data-action": "help" } });
    root.appendChild(h("div", { cls: "nbl-bar nbl-top" }, [this.labelsG, this.toolsG, this.tagsG, viewG, editG, this.saveSpan, helpBtn]));
    // stage + side panel
    this.canvas = h("canvas", { cls: "nblabel-canvas" });
    this.ctx = this.canvas.getContext("2d");
    this.base = document.createElement("canvas");
    this.bctx = this.base.getContext("2d");
    this.shapes = document.createElement("canvas"); // the shapes layer, reused during pan / zoom gestures
    this.sctx = this.shapes.getContext("2d");
    this.help = h("div", { cls: "nbl-help nbl-hidden", attrs: { role: "dialog", "aria-label": "keyboard shortcuts" } });
    const rows = SHORTCUTS.map(([k, d]) => h("tr", {}, [h("td", { text: k }), h("td", { text: d })]));
    this.help.appendChild(h("div", { text: "Keyboard shortcuts (Esc or ? closes)", style: { "font-weight": "bold", "margin-bottom": "6px" } }));
    this.help.appendChild(h("table", {}, [h("tbody", {}, rows)]));
    this.skipInput = h("input", { cls: "nbl-skip-reason", attrs: { type: "text", placeholder: "reason for skipping", "aria-label": "skip reason" } });
    this.skipInput.addEventListener("keydown", (e) => {
      if (e.key === "Enter") { e.preventDefault(); this.confirmSkip(); }
      if (e.key === "Escape") { e.preventDefault(); this.closeSkip(); }
    });
    this.dialog = h("div", { cls: "nbl-dialog nbl-hidden" }, [
      h("span", { text: "Skip:" }), this.skipInput,
      this.btn("Skip", "skip with this reason", () => this.confirmSkip(), { attrs: { "data-action": "skip-confirm" } }),
      this.btn("Cancel", "cancel", () => this.closeSkip()),
    ]);
    this.stage = h("div", { cls: "nbl-stage" }, [this.canvas, this.help, this.dialog]);
    this.attrBox = h("div", { cls: "nbl-attrs" });
    this.selLabelText = h("div", { cls: "nbl-muted nbl-selinfo", text: "" });
    this.layersBox = h("div", { cls: "nbl-layers" });
    this.reviewBox = h("div", { cls: "nbl-review nbl-hidden" });
    this.side = h("div", { cls: "nbl-side" }, [
      this.reviewBox,
      h("h4", { text: "Attributes" }), this.selLabelText, this.attrBox,
      h("h4", { text: "Layers" }), this.layersBox,
    ]);
    root.appendChild(h("div", { cls: "nbl-main" }, [this.stage, this.side]));
    // queue bar
    this.posText = h("span", { cls: "nbl-pos", text: "" });
    this.doneText = h("span", { cls: "nbl-muted nbl-completed", text: "" });
    this.fileText = h("span", { cls: "nbl-muted nbl-file", text: "" });
    this.msgText = h("span", { cls: "nbl-msg", attrs: { role: "status" } });
    this.completeBtn = this.btn("Complete ✓", "complete (Enter / C)", () => this.act({ action: "complete" }), { attrs: { "data-action": "complete" } });
    root.appendChild(h("div", { cls: "nbl-bar nbl-queue" }, [
      this.btn("← Prev", "previous (←)", () => this.act({ action: "prev" }), { attrs: { "data-action": "prev" } }),
      this.posText,
      this.btn("Next →", "next (→ / N)", () => this.act({ action: "next" }), { attrs: { "data-action": "next" } }),
      this.doneText, this.fileText,
      this.btn("Skip…", "skip with a reason (Shift+S)", () => this.act({ action: "skip" }), { attrs: { "data-action": "skip" } }),
      this.completeBtn, this.msgText,
    ]));
    this.el.appendChild(root);
  },

  msg(text, error = false) {
    this.msgText.textContent = text || "";
    this.msgText.classList.toggle("nbl-error", !!error);
    this.root.dataset.message = text || "";
  },

  /** Mirror the state into data-* attributes and the bar; only what changed is written (cheap on a big page). */
  sync() {
    const d = this.root.dataset;
    const put = (o, k, v) => { if (o[k] !== v) o[k] = v; };
    put(d, "tool", this.tool);
    put(d, "label", this.labelId == null ? "" : String(this.labelId));
    put(d, "ninstances", String(this.inst.size));
    put(d, "npredictions", String(this.visiblePreds().length));
    put(d, "selected", String(this.sel.size));
    const pending = this.saver.pending + (this.nudge ? 1 : 0);
    const st = this.saver.state === "saved" && pending ? "saving" : this.saver.state;
    put(d, "saveState", st);
    put(d, "pending", String(pending));
    put(d, "zoom", this.view.s.toFixed(4));
    put(d, "view", `${this.view.s},${this.view.tx},${this.view.ty}`);
    put(d, "drawing", this.drawing ? this.drawing.type : "");
    put(d, "tags", [...this.tags].join(","));
    put(d, "mode", this.model.get("mode") || "label");
    put(this.saveSpan.dataset, "state", st);
    put(this.saveSpan, "textContent", st === "failed" ? "failed – retrying" : st === "saving" ? `saving (${pending})` : "saved");
    if (st === "failed" && this.saver.error) put(this.saveSpan, "title", this.saver.error);
    put(this.zoomText, "textContent", Math.round(this.view.s * 100) + "%");
    put(this.undoBtn, "disabled", !this.undo.canUndo);
    put(this.redoBtn, "disabled", !this.undo.canRedo);
    for (const b of this.toolsG.querySelectorAll("button")) {
      const v = String(b.dataset.tool === this.tool);
      if (b.getAttribute("aria-pressed") !== v) b.setAttribute("aria-pressed", v);
    }
    put(this.canvas.style, "cursor", this.spaceHeld ? "grab" : this.tool === "select" ? "default" : "crosshair");
  },

  updateQueue() {
    const total = this.model.get("total") ?? 0;
    this.posText.textContent = this.index == null ? "" : `${this.index + 1} of ${total}`;
    this.doneText.textContent = `completed: ${this.model.get("completed") ?? 0}`;
    this.root.dataset.total = String(total);
  },
};
