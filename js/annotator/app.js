// The annotator widget: state and wiring. Its methods live in modules by concept (mixed in below).
import { Rpc } from "../shared/rpc.js";
import { View } from "./view.js";
import { UndoStack } from "./undo.js";
import { SaveQueue } from "./saver.js";
import { keyName, PASS_THROUGH } from "./hotkeys.js";
import { IDLE_MS, isTyping } from "./common.js";
import { LayoutMethods } from "./layout.js";
import { LabelsMethods } from "./labels.js";
import { LoadingMethods } from "./loading.js";
import { LayersMethods } from "./layers.js";
import { EditsMethods } from "./edits.js";
import { PanelMethods } from "./panel.js";
import { PointerMethods } from "./pointer.js";
import { KeyboardMethods } from "./keyboard.js";
import { QueueMethods } from "./queue.js";

export class Annotator {
  constructor(model, el) {
    this.model = model;
    this.el = el;
    this.rpc = new Rpc(model);
    this.saver = new SaveQueue({
      request: (m, t) => this.rpc.request(m, t),
      onState: (st) => {
        if (st.state === "failed") this.msg(`Saving failed, retrying: ${st.error}`, true);
        else if (this.saveErrorShown && st.state !== "failed") this.msg("");
        this.saveErrorShown = st.state === "failed";
        this.sync();
      },
    });
    this.view = new View();
    this.undo = new UndoStack();
    this.inst = new Map();
    this.preds = [];
    this.tags = new Set();
    this.sel = new Set();
    this.selVertex = null;
    this.selPred = null;
    this.hover = null;
    this.hoverPred = null;
    this.drawing = null;
    this.drag = null;
    this.nudge = null;
    this.spaceHeld = false;
    this.cache = new Map();
    this.loadSeq = 0;
    this.item = null;
    this.bitmap = null;
    this.lowBitmap = null; // the preview, kept for quick frames while panning / zooming out
    this.lowScale = 0;
    this.gesture = false;
    this.viewDirty = false;
    this.shapesView = null;
    this.index = null;
    this.brightness = 100;
    this.contrast = 100;
    this.threshold = 0;
    this.hiddenRuns = new Set();
    this.showGT = true;
    this.activeMs = 0;
    this.lastInput = 0;
    this.lastTick = performance.now();
    this.keySeq = 0;
    this.vw = 0;
    this.vh = 0;
    this.dpr = 1;
    this.baseDirty = true;
    this.raf = 0;
    this.labelId = null;
    this.tool = "select";
    this.disposers = [];
    this.buildDom();
    this.readSchema();
    this.bindModel();
    this.bindEvents();
    this.sync();
  }

  get label() {
    return this.labelById.get(this.labelId);
  }

  bindModel() {
    const on = (ev, f) => { this.model.on(ev, f); this.disposers.push(() => this.model.off(ev, f)); };
    on("change:index", () => this.goTo(this.model.get("index")));
    on("change:total", () => { this.updateQueue(); if (!this.item && this.model.get("total")) this.goTo(this.model.get("index") || 0); });
    on("change:completed", () => this.updateQueue());
    on("change:schema", () => { this.readSchema(); this.refreshPanel(); this.sync(); this.requestDraw(true); });
    on("change:runs", () => { this.buildLayers(); this.requestDraw(true); });
    on("change:mode", () => { this.buildReview(); this.sync(); });
    on("change:focus", () => { this.buildReview(); this.fitFocus(); this.requestDraw(true); });
  }

  async start() {
    if (this.model.get("total") === 0) {
      this.msg("The queue is empty.");
      return;
    }
    await this.goTo(this.model.get("index") || 0);
  }

  dispose() {
    for (const d of this.disposers) d();
    this.rpc.dispose();
    if (this.raf) cancelAnimationFrame(this.raf);
    clearTimeout(this.settleTimer);
    if (this.bitmap && this.bitmap.close) this.bitmap.close();
    if (this.lowBitmap && this.lowBitmap.close) this.lowBitmap.close();
    for (const e of this.cache.values()) if (e.bitmap && e.bitmap.close) e.bitmap.close();
  }

  bindEvents() {
    const c = this.canvas, root = this.root;
    const on = (t, ev, f, o) => { t.addEventListener(ev, f, o); this.disposers.push(() => t.removeEventListener(ev, f, o)); };
    on(c, "pointerdown", (e) => this.onDown(e));
    on(c, "pointermove", (e) => this.onMove(e));
    on(c, "pointerup", (e) => this.onUp(e));
    on(c, "pointercancel", (e) => this.onUp(e, true));
    on(c, "dblclick", (e) => { e.preventDefault(); if (this.drawing && this.drawing.type === "line") this.finishDrawing(); });
    on(c, "wheel", (e) => this.onWheel(e), { passive: false });
    on(c, "contextmenu", (e) => e.preventDefault());
    on(c, "dragstart", (e) => e.preventDefault());
    on(root, "keydown", (e) => this.onKey(e));
    on(root, "keyup", (e) => this.onKeyUp(e));
    on(root, "keypress", (e) => { if (!PASS_THROUGH.has(keyName(e))) e.stopPropagation(); });
    on(root, "pointerdown", (e) => {
      this.lastInput = performance.now();
      if (!isTyping(e.target) && !isTyping(document.activeElement)) root.focus({ preventScroll: true });
    });
    on(root, "input", () => (this.lastInput = performance.now()));
    on(root, "focusout", (e) => {
      if (!root.contains(e.relatedTarget)) { this.spaceHeld = false; this.sync(); }
    });
    // after ticking a checkbox / radio in the panel, give the keyboard back to the widget
    on(root, "change", (e) => { if (e.target && (e.target.type === "checkbox" || e.target.type === "radio")) root.focus({ preventScroll: true }); });
    // unacknowledged changes: ask before the page is closed (they are retried until acknowledged)
    on(window, "beforeunload", (e) => { if (this.saver.pending) { e.preventDefault(); e.returnValue = ""; } });
    const ro = new ResizeObserver(() => this.resize());
    ro.observe(this.stage);
    this.disposers.push(() => ro.disconnect());
    const iv = setInterval(() => this.tick(), 1000);
    this.disposers.push(() => clearInterval(iv));
  }

  hasFocus() {
    const a = document.activeElement;
    return !!a && (a === this.root || this.root.contains(a));
  }

  tick() {
    const now = performance.now(), dt = now - this.lastTick;
    this.lastTick = now;
    if (this.hasFocus() && now - this.lastInput < IDLE_MS && !document.hidden) this.activeMs += dt;
    this.root.dataset.activeSeconds = (this.activeMs / 1000).toFixed(1);
  }

  secondsActive() {
    this.tick();
    return Math.round(this.activeMs / 100) / 10;
  }
}

Object.assign(Annotator.prototype, LayoutMethods, LabelsMethods, LoadingMethods, LayersMethods, EditsMethods, PanelMethods, PointerMethods, KeyboardMethods, QueueMethods);
