// The annotator widget: DOM, state, pointer + keyboard interaction, persistence through the protocol.
import { h } from "../shared/dom.js";
import { Rpc, toBytes } from "../shared/rpc.js";
import { CSS } from "./styles.js";
import { View } from "./view.js";
import { UndoStack } from "./undo.js";
import { SaveQueue } from "./saver.js";
import { KeypointPlacer } from "./keypoints.js";
import { keyName, resolveKey, labelKeymap, PASS_THROUGH, SHORTCUTS, TOOL_NAMES } from "./hotkeys.js";
import { buildAttrPanel, missingRequired, attrsForLabel, attrVisible } from "./attributes.js";
import { drawInstances, drawSelection, paletteColor } from "./render.js";
import {
  normBox, clampBox, clamp, r2, extentOf, hitTest, hitHandle, resizeBox, translateGeom, clampDelta,
  nearestVertex, nearestEdge, insertVertex, deleteVertex, inRect, iou, pointInBox,
} from "./geometry.js";

const SPATIAL_TOOLS = ["box", "polygon", "keypoints", "point", "line"];
const HANDLE_CURSOR = { nw: "nwse-resize", se: "nwse-resize", ne: "nesw-resize", sw: "nesw-resize", n: "ns-resize", s: "ns-resize", e: "ew-resize", w: "ew-resize" };
const TOL = 6; // screen px for hit testing
const IDLE_MS = 30000; // input older than this does not count as active time

// colours come from data: accept plain CSS colours only (no url(), no extra declarations)
const safeColor = (c) => typeof c === "string" && /^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20}|(rgb|hsl)a?\([\d\s.,%/+-]+\))$/.test(c.trim());
const deep = (x) => (x == null ? x : JSON.parse(JSON.stringify(x)));
// Elements that keep their own keys. Checkboxes, radios, sliders and buttons do not: shortcuts keep
// working after a click on them.
const NON_TEXT_INPUTS = new Set(["checkbox", "radio", "range", "button", "color", "submit", "reset"]);
const isTyping = (t) =>
  !!t && ((t.tagName === "INPUT" && !NON_TEXT_INPUTS.has(t.type)) || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);

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

  // ------------------------------------------------------------------ DOM
  btn(text, title, onClick, extra = {}) {
    const b = h("button", { cls: "nbl-btn", text, attrs: { type: "button", title, tabindex: -1, ...(extra.attrs || {}) } });
    b.addEventListener("mousedown", (e) => e.preventDefault()); // keep keyboard focus on the widget
    b.addEventListener("click", (e) => {
      e.preventDefault();
      onClick(e);
      if (!isTyping(document.activeElement)) this.root.focus({ preventScroll: true });
    });
    return b;
  }

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
  }

  msg(text, error = false) {
    this.msgText.textContent = text || "";
    this.msgText.classList.toggle("nbl-error", !!error);
    this.root.dataset.message = text || "";
  }

  // ------------------------------------------------------------------ schema, labels, tools
  readSchema() {
    const sc = this.model.get("schema") || {};
    this.labels = sc.labels || [];
    this.attrs = sc.attributes || [];
    this.labelById = new Map(this.labels.map((l) => [l.id, l]));
    this.labelKeys = labelKeymap(this.labels);
    if (!this.labelById.has(this.labelId)) {
      const first = this.labels[0];
      this.labelId = first ? first.id : null;
      this.tool = this.firstTool(first);
    }
    this.buildLabels();
    this.buildTools();
    this.buildTags();
  }

  firstTool(label) {
    const t = label && (label.spatial || []).find((k) => SPATIAL_TOOLS.includes(k));
    return t || "select";
  }

  get label() {
    return this.labelById.get(this.labelId);
  }

  allowedTools() {
    const l = this.label;
    return ["select", ...((l && l.spatial) || []).filter((k) => SPATIAL_TOOLS.includes(k))];
  }

  colorOfLabel(id) {
    const l = this.labelById.get(id);
    if (l && safeColor(l.color)) return l.color;
    const i = this.labels.findIndex((x) => x.id === id);
    return paletteColor(i < 0 ? 0 : i);
  }

  runColor(name) {
    const runs = this.model.get("runs") || [];
    const i = runs.findIndex((r) => r.name === name);
    if (i >= 0 && safeColor(runs[i].color)) return runs[i].color;
    return paletteColor(7 + (i < 0 ? 0 : i) * 3);
  }

  keyOfLabel(id) {
    for (const [k, v] of this.labelKeys) if (v === id) return k.toLowerCase();
    return "";
  }

  chip(label, pressed, onClick, cls) {
    const c = h("button", { cls: "nbl-chip " + cls, attrs: { type: "button", tabindex: -1, "aria-pressed": String(!!pressed), "data-label-id": label.id, title: label.name } }, [
      h("span", { cls: "nbl-swatch", style: { background: this.colorOfLabel(label.id) } }),
      h("span", { cls: "nbl-chip-name", text: label.name }),
      h("span", { cls: "nbl-key", text: this.keyOfLabel(label.id) }),
    ]);
    c.addEventListener("mousedown", (e) => e.preventDefault());
    c.addEventListener("click", (e) => { e.preventDefault(); onClick(); this.root.focus({ preventScroll: true }); });
    return c;
  }

  buildLabels() {
    const spatial = this.labels.filter((l) => (l.spatial || []).some((k) => SPATIAL_TOOLS.includes(k)));
    this.labelsG.replaceChildren(...spatial.map((l) => this.chip(l, l.id === this.labelId, () => this.pickLabel(l.id), "nbl-label")));
    this.labelsG.classList.toggle("nbl-hidden", !spatial.length);
  }

  buildTools() {
    const allowed = this.allowedTools();
    const keys = { select: "s", box: "b", polygon: "p", keypoints: "k", point: "o", line: "l" };
    this.toolsG.replaceChildren(...allowed.map((t) => {
      const b = this.btn(TOOL_NAMES[t], `${TOOL_NAMES[t]} (${keys[t].toUpperCase()})`, () => this.setTool(t), { attrs: { "data-tool": t, "aria-pressed": String(t === this.tool) } });
      b.appendChild(h("span", { cls: "nbl-key", text: " " + keys[t] }));
      return b;
    }));
  }

  buildTags() {
    const tagLabels = this.labels.filter((l) => (l.spatial || []).includes("tag"));
    this.tagsG.replaceChildren(...(tagLabels.length ? [h("span", { cls: "nbl-muted", text: "tags:" })] : []),
      ...tagLabels.map((l) => this.chip(l, this.tags.has(l.id), () => this.toggleTag(l.id), "nbl-tag")));
    this.tagsG.classList.toggle("nbl-hidden", !tagLabels.length);
  }

  setTool(t) {
    if (!this.allowedTools().includes(t)) {
      this.msg(`${TOOL_NAMES[t] || t} is not allowed for label "${this.label ? this.label.name : "?"}"`, true);
      return;
    }
    if (this.drawing) this.cancelDrawing();
    this.tool = t;
    this.buildTools();
    this.sync();
    this.requestDraw();
  }

  pickLabel(id) {
    const l = this.labelById.get(id);
    if (!l) return;
    const sp = l.spatial || [];
    if (!sp.some((k) => SPATIAL_TOOLS.includes(k))) {
      if (sp.includes("tag")) this.toggleTag(id);
      return;
    }
    if (this.drawing && this.labelId !== id) this.cancelDrawing();
    this.labelId = id;
    if (this.tool !== "select" && !sp.includes(this.tool)) this.tool = this.firstTool(l);
    // change the label of the selection (instances whose kind the label allows)
    const changes = [];
    for (const inst of this.selected()) {
      if (inst.label_id === id || !sp.includes(inst.kind)) continue;
      const before = this.snap(inst);
      inst.label_id = id;
      changes.push({ inst, before, after: this.snap(inst) });
    }
    if (changes.length) this.commitUpdates(changes, "change label");
    this.buildLabels();
    this.buildTools();
    this.sync();
    this.refreshPanel();
    this.requestDraw(true);
  }

  // ------------------------------------------------------------------ model binding
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
    if (this.bitmap && this.bitmap.close) this.bitmap.close();
    for (const e of this.cache.values()) if (e.bitmap && e.bitmap.close) e.bitmap.close();
  }

  // ------------------------------------------------------------------ loading items
  async fetchItem(index) {
    const r = await this.rpc.request({ kind: "load", index }, 60000);
    if (!r.ok) throw new Error(r.error || "load refused");
    const bytes = toBytes(r.buffers && r.buffers[0]);
    if (!bytes || !bytes.length) throw new Error("the load reply carried no image bytes");
    const blob = new Blob([bytes], { type: r.item.mime || "image/jpeg" });
    return { item: r.item, blob };
  }

  prefetch() {
    const next = (this.index ?? 0) + 1;
    const total = this.model.get("total");
    if (total != null && next >= total) return;
    if (this.cache.has(next)) return;
    const entry = { promise: null };
    this.cache.set(next, entry);
    entry.promise = this.fetchItem(next)
      .then(async (e) => ({ ...e, bitmap: await createImageBitmap(e.blob) }))
      .catch(() => { this.cache.delete(next); return null; });
    while (this.cache.size > 3) {
      const k = this.cache.keys().next().value;
      this.cache.delete(k);
    }
  }

  async goTo(index, force = false) {
    if (index == null || index < 0) return;
    if (!force && this.item && this.index === index) return;
    if (!force && this.loadingIndex === index) return;
    this.loadingIndex = index;
    this.flushNudge();
    const seq = ++this.loadSeq;
    const t0 = performance.now();
    this.root.dataset.rendered = "0";
    this.root.dataset.loading = String(index);
    try {
      let entry = null;
      const cached = this.cache.get(index);
      this.cache.delete(index);
      if (cached) entry = await cached.promise;
      if (!entry) entry = await this.fetchItem(index);
      if (seq !== this.loadSeq) return;
      const td = performance.now();
      const bitmap = entry.bitmap || (await createImageBitmap(entry.blob));
      this.root.dataset.decodeMs = entry.bitmap ? "0" : (performance.now() - td).toFixed(1);
      if (seq !== this.loadSeq) { bitmap.close && bitmap.close(); return; }
      this.setItem(entry.item, bitmap, index, t0);
    } catch (e) {
      if (seq === this.loadSeq) this.msg(`Could not load item ${index}: ${e.message}`, true);
    } finally {
      if (seq === this.loadSeq) this.loadingIndex = null;
    }
  }

  fromServer(i) {
    const inst = { ...deep(i), key: "k" + ++this.keySeq };
    inst.ref = { id: i.id, version: i.version };
    inst.attributes = inst.attributes || {};
    if (!inst.box && inst.points && inst.points.length) inst.box = extentOf(inst.points);
    return inst;
  }

  setItem(item, bitmap, index, t0) {
    if (this.bitmap && this.bitmap.close && this.bitmap !== bitmap) this.bitmap.close();
    this.cancelDrawing(false);
    this.drag = null;
    this.item = item;
    this.bitmap = bitmap;
    this.index = item.index ?? index;
    this.W = item.width || bitmap.width;
    this.H = item.height || bitmap.height;
    this.displayScale = item.display_scale || bitmap.width / this.W;
    this.inst = new Map();
    this.tags = new Set();
    for (const i of item.instances || []) {
      const inst = this.fromServer(i);
      this.inst.set(inst.key, inst);
      if (inst.kind === "tag") this.tags.add(inst.label_id);
    }
    this.preds = (item.predictions || []).map((p) => ({ ...this.fromServer(p), key: "p" + ++this.keySeq, hidden: false }));
    this.sel.clear();
    this.selVertex = this.selPred = this.hover = this.hoverPred = null;
    this.undo.clear();
    this.activeMs = 0;
    this.loadT0 = t0;
    this.pendingRendered = true;
    this.fitView();
    this.buildTags();
    this.buildLayers();
    this.buildReview();
    this.updateQueue();
    this.refreshPanel();
    this.msg("");
    this.root.dataset.mediaId = String(item.media_id ?? "");
    this.root.dataset.imageSize = `${this.W}x${this.H}`;
    this.root.dataset.index = String(this.index);
    this.fileText.textContent = item.file_name || "";
    this.sync();
    this.requestDraw(true);
  }

  // ------------------------------------------------------------------ view
  resize() {
    const w = this.stage.clientWidth, hh = this.stage.clientHeight;
    if (!w || !hh) return;
    const dpr = window.devicePixelRatio || 1;
    if (w === this.vw && hh === this.vh && dpr === this.dpr) return;
    const first = !this.vw;
    this.vw = w;
    this.vh = hh;
    this.dpr = dpr;
    for (const c of [this.canvas, this.base]) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(hh * dpr);
    }
    if (first || !this.userMoved) this.fitView();
    this.requestDraw(true);
  }

  fitView() {
    if (!this.item || !this.vw) return;
    this.userMoved = false;
    if (this.model.get("mode") === "review" && this.fitFocus()) return;
    this.view.fit(this.W, this.H, this.vw, this.vh, 4);
    this.sync();
  }

  /** The review focus of the current item (item.focus wins over the synced trait). */
  focus() {
    if (this.item && this.item.focus !== undefined) return this.item.focus;
    return this.model.get("focus");
  }

  fitFocus() {
    const f = this.focus();
    if (!f || !f.box || !this.item || !this.vw) return false;
    const b = f.box, mw = (b[2] - b[0]) * 0.5 + 10, mh = (b[3] - b[1]) * 0.5 + 10;
    this.view.fitBox([b[0] - mw, b[1] - mh, b[2] + mw, b[3] + mh], this.vw, this.vh, 4);
    this.sync();
    return true;
  }

  zoomAt(sx, sy, factor) {
    this.view.zoomAt(sx, sy, factor);
    this.userMoved = true;
    this.sync();
    this.requestDraw(true);
  }

  // ------------------------------------------------------------------ rendering
  requestDraw(base = false) {
    if (base) this.baseDirty = true;
    if (!this.raf) this.raf = requestAnimationFrame(() => { this.raf = 0; this.draw(); });
  }

  visiblePreds() {
    return this.preds.filter((p) => !p.hidden && !this.hiddenRuns.has(p.run || "") && (p.score == null || p.score >= this.threshold));
  }

  topKeys() {
    return this.sel;
  }

  draw() {
    if (!this.vw) this.resize();
    if (!this.vw) return;
    const t0 = performance.now();
    const full = this.baseDirty;
    if (full) {
      this.drawBase();
      this.baseDirty = false;
    }
    const ctx = this.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.drawImage(this.base, 0, 0);
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    this.drawTop(ctx);
    const t1 = performance.now();
    if (full) this.root.dataset.renderMs = (t1 - t0).toFixed(1);
    else this.root.dataset.frameMs = (t1 - t0).toFixed(2);
    if (this.pendingRendered && this.bitmap) {
      this.pendingRendered = false;
      this.root.dataset.loadMs = (t1 - (this.loadT0 || t0)).toFixed(1);
      this.root.dataset.rendered = "1";
      setTimeout(() => this.prefetch(), 0);
    }
  }

  drawBase() {
    const ctx = this.bctx, v = this.view;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.base.width, this.base.height);
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    if (!this.bitmap) return;
    const pixelated = v.s / this.displayScale > 1;
    ctx.imageSmoothingEnabled = !pixelated;
    this.canvas.style.imageRendering = pixelated ? "pixelated" : "auto";
    this.root.dataset.pixelated = pixelated ? "1" : "0";
    if (this.brightness !== 100 || this.contrast !== 100) ctx.filter = `brightness(${this.brightness}%) contrast(${this.contrast}%)`;
    // the bitmap is in display px; it covers the original W x H (overlays stay in original px)
    ctx.drawImage(this.bitmap, 0, 0, this.bitmap.width, this.bitmap.height, v.tx, v.ty, this.W * v.s, this.H * v.s);
    ctx.filter = "none";
    const top = this.topKeys();
    if (this.showGT) {
      const list = [];
      for (const i of this.inst.values()) if (i.kind !== "tag" && !top.has(i.key)) list.push(i);
      drawInstances(ctx, v, list, {
        colorOf: (i) => this.colorOfLabel(i.label_id), fillAlpha: 0.08, lineWidth: 1.5, labels: this.labelById,
        text: list.length <= 150 ? (i) => (this.labelById.get(i.label_id) || {}).name || "" : null,
      });
    }
    const preds = this.visiblePreds();
    if (preds.length) {
      drawInstances(ctx, v, preds, {
        colorOf: (p) => this.runColor(p.run), dashed: true, lineWidth: 1.5, labels: this.labelById,
        text: (p) => (p.score == null ? "" : p.score.toFixed(2)),
      });
    }
    const f = this.model.get("mode") === "review" && this.focus();
    if (f && f.box) {
      ctx.strokeStyle = "#ffeb3b";
      ctx.setLineDash([2, 3]);
      ctx.lineWidth = 1;
      const [x0, y0] = v.toScreen(f.box[0], f.box[1]), [x1, y1] = v.toScreen(f.box[2], f.box[3]);
      ctx.strokeRect(x0 - 6, y0 - 6, x1 - x0 + 12, y1 - y0 + 12);
      ctx.setLineDash([]);
    }
  }

  drawTop(ctx) {
    const v = this.view;
    const sel = this.selected();
    if (sel.length) {
      drawInstances(ctx, v, sel, {
        colorOf: (i) => this.colorOfLabel(i.label_id), fillAlpha: 0.2, lineWidth: 2.5, labels: this.labelById,
        text: (i) => (this.labelById.get(i.label_id) || {}).name || "",
      });
      for (const i of sel) drawSelection(ctx, v, i, this.colorOfLabel(i.label_id), this.selVertex && this.selVertex.key === i.key ? this.selVertex : null);
    }
    if (this.hover && !this.sel.has(this.hover.key) && this.inst.has(this.hover.key)) {
      drawInstances(ctx, v, [this.hover], { colorOf: () => "#ffffff", lineWidth: 1, labels: this.labelById });
    }
    for (const p of [this.selPred, this.hoverPred]) {
      if (p && !p.hidden) drawInstances(ctx, v, [p], { colorOf: () => "#ffffff", dashed: true, lineWidth: p === this.selPred ? 2.5 : 1, labels: this.labelById });
    }
    const d = this.drawing;
    const color = this.colorOfLabel(this.labelId);
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.lineWidth = 2;
    if (d && d.type === "box") {
      const b = normBox(d.x0, d.y0, d.x1, d.y1);
      const [x0, y0] = v.toScreen(b[0], b[1]);
      ctx.setLineDash([5, 3]);
      ctx.strokeRect(x0, y0, (b[2] - b[0]) * v.s, (b[3] - b[1]) * v.s);
      ctx.setLineDash([]);
    } else if (d && (d.type === "polygon" || d.type === "line")) {
      ctx.beginPath();
      d.pts.forEach((p, i) => { const [x, y] = v.toScreen(p[0], p[1]); i ? ctx.lineTo(x, y) : ctx.moveTo(x, y); });
      if (d.cursor) { const [x, y] = v.toScreen(d.cursor[0], d.cursor[1]); ctx.lineTo(x, y); }
      ctx.stroke();
      d.pts.forEach((p, i) => {
        const [x, y] = v.toScreen(p[0], p[1]);
        const r = i === 0 && d.type === "polygon" ? 5 : 3;
        ctx.fillRect(x - r, y - r, 2 * r, 2 * r);
      });
    } else if (d && d.type === "keypoints") {
      const tmp = { kind: "keypoints", label_id: this.labelId, points: d.placer.points.slice(0, d.placer.next) };
      drawInstances(ctx, v, [tmp], { colorOf: () => color, lineWidth: 2, labels: this.labelById });
      if (d.cursor && d.placer.nextName) {
        const [x, y] = v.toScreen(d.cursor[0], d.cursor[1]);
        const t = d.placer.nextName + (d.placer.pendingV === 1 ? " (not visible)" : "");
        ctx.font = "12px sans-serif";
        ctx.fillStyle = "rgba(0,0,0,.7)";
        ctx.fillRect(x + 10, y + 4, ctx.measureText(t).width + 6, 16);
        ctx.fillStyle = "#fff";
        ctx.textBaseline = "top";
        ctx.fillText(t, x + 13, y + 6);
      }
    }
    if (this.drag && this.drag.type === "band") {
      const dd = this.drag;
      const b = normBox(dd.x0, dd.y0, dd.x1, dd.y1);
      const [x0, y0] = v.toScreen(b[0], b[1]);
      ctx.strokeStyle = "#fff";
      ctx.lineWidth = 1;
      ctx.setLineDash([4, 3]);
      ctx.strokeRect(x0, y0, (b[2] - b[0]) * v.s, (b[3] - b[1]) * v.s);
      ctx.setLineDash([]);
    }
  }

  // ------------------------------------------------------------------ state helpers
  selected() {
    const out = [];
    for (const k of this.sel) { const i = this.inst.get(k); if (i) out.push(i); }
    return out;
  }

  setSelection(keys, { keepVertex = false } = {}) {
    this.sel = new Set(keys);
    if (!keepVertex) this.selVertex = null;
    if (this.sel.size) this.selPred = null;
    this.refreshPanel();
    this.sync();
    this.requestDraw(true);
  }

  snap(inst) {
    return { label_id: inst.label_id, box: deep(inst.box), points: deep(inst.points), attributes: deep(inst.attributes || {}) };
  }

  applySnap(inst, s) {
    inst.label_id = s.label_id;
    inst.box = deep(s.box);
    inst.points = deep(s.points);
    inst.attributes = deep(s.attributes);
  }

  payload(inst) {
    const round = (pts) => pts && pts.map((p) => p.map((x, j) => (j < 2 ? r2(x) : x)));
    return {
      label_id: inst.label_id, kind: inst.kind, box: inst.box ? inst.box.map(r2) : null,
      points: round(inst.points) || null, attributes: deep(inst.attributes || {}),
    };
  }

  newInst(o) {
    return { key: "k" + ++this.keySeq, ref: null, id: null, version: null, run: null, score: null, author: this.model.get("author") || null, attributes: {}, ...o };
  }

  // persistence (every change of the store is queued, in order, and retried until acknowledged)
  saveCreate(inst) {
    const ref = { id: null, version: null };
    inst.ref = ref;
    inst.id = null;
    const cid = "c" + Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
    inst.cid = cid;
    const body = this.payload(inst), media_id = this.item && this.item.media_id;
    this.saver.enqueue({
      build: () => ({ kind: "save", op: "create", media_id, instance: { ...body, cid } }),
      onOk: (r) => {
        ref.id = r.instance_id;
        ref.version = r.version;
        if (inst.ref === ref) { inst.id = r.instance_id; inst.version = r.version; }
        this.sync();
      },
    });
  }

  saveUpdate(inst) {
    const ref = inst.ref, body = this.payload(inst), media_id = this.item && this.item.media_id;
    this.saver.enqueue({
      // the version guards against overwriting someone else's change; after a refusal the retry
      // goes without it (the user's latest edit wins) so a conflict cannot block the queue forever
      build: (attempt) => ({ kind: "save", op: "update", media_id, instance: attempt ? { ...body, id: ref.id } : { ...body, id: ref.id, version: ref.version } }),
      onOk: (r) => { ref.version = r.version; if (inst.ref === ref) inst.version = r.version; },
    });
  }

  saveDelete(inst) {
    const ref = inst.ref, media_id = this.item && this.item.media_id;
    this.saver.enqueue({ build: () => ({ kind: "save", op: "delete", media_id, instance_id: ref.id }) });
  }

  // commands (applied now, pushed on the undo stack, every step sends its saves)
  commitCreate(insts, name = "create") {
    const add = () => { for (const i of insts) { this.inst.set(i.key, i); this.saveCreate(i); } };
    const remove = () => { for (const i of insts) { this.inst.delete(i.key); this.sel.delete(i.key); this.saveDelete(i); } };
    add();
    this.undo.push({ name, undo: remove, redo: add, keys: insts.map((i) => i.key) });
    this.changed();
  }

  commitDelete(insts, name = "delete") {
    const add = () => { for (const i of insts) { this.inst.set(i.key, i); this.saveCreate(i); } };
    const remove = () => { for (const i of insts) { this.inst.delete(i.key); this.sel.delete(i.key); this.saveDelete(i); } };
    remove();
    this.undo.push({ name, undo: add, redo: remove, keys: insts.map((i) => i.key) });
    this.changed();
  }

  /** changes = [{inst, before, after}] (already applied) */
  commitUpdates(changes, name = "update") {
    for (const c of changes) this.saveUpdate(c.inst);
    this.undo.push({
      name,
      keys: changes.map((c) => c.inst.key),
      undo: () => { for (const c of changes) { this.applySnap(c.inst, c.before); this.saveUpdate(c.inst); } },
      redo: () => { for (const c of changes) { this.applySnap(c.inst, c.after); this.saveUpdate(c.inst); } },
    });
    this.changed();
  }

  changed() {
    for (const k of [...this.sel]) if (!this.inst.has(k)) this.sel.delete(k);
    if (this.selVertex && !this.sel.has(this.selVertex.key)) this.selVertex = null;
    this.refreshPanel();
    this.sync();
    this.requestDraw(true);
  }

  toggleTag(id) {
    const before = new Set(this.tags), after = new Set(this.tags);
    after.has(id) ? after.delete(id) : after.add(id);
    const apply = (s) => {
      this.tags = new Set(s);
      const tags = [...s], media_id = this.item && this.item.media_id;
      this.saver.enqueue({
        build: () => ({ kind: "tags", media_id, tags }),
        onOk: (r) => {
          if (!r.instances || !this.item || this.item.media_id !== media_id) return;
          for (const [k, i] of [...this.inst]) if (i.kind === "tag") this.inst.delete(k);
          for (const i of r.instances) { const inst = this.fromServer(i); this.inst.set(inst.key, inst); }
          this.sync();
        },
      });
      this.buildTags();
      this.sync();
    };
    apply(after);
    this.undo.push({ name: "tags", undo: () => apply(before), redo: () => apply(after) });
  }

  // ------------------------------------------------------------------ sync DOM state
  sync() {
    const d = this.root.dataset;
    d.tool = this.tool;
    d.label = this.labelId == null ? "" : String(this.labelId);
    d.ninstances = String(this.inst.size);
    d.npredictions = String(this.visiblePreds().length);
    d.selected = String(this.sel.size);
    const pending = this.saver.pending + (this.nudge ? 1 : 0);
    d.saveState = this.saver.state === "saved" && pending ? "saving" : this.saver.state;
    d.pending = String(pending);
    d.zoom = this.view.s.toFixed(4);
    d.view = `${this.view.s},${this.view.tx},${this.view.ty}`;
    d.drawing = this.drawing ? this.drawing.type : "";
    d.tags = [...this.tags].join(",");
    d.mode = this.model.get("mode") || "label";
    const st = d.saveState;
    this.saveSpan.dataset.state = st;
    this.saveSpan.textContent = st === "failed" ? "failed – retrying" : st === "saving" ? `saving (${pending})` : "saved";
    if (st === "failed" && this.saver.error) this.saveSpan.title = this.saver.error;
    this.zoomText.textContent = Math.round(this.view.s * 100) + "%";
    this.undoBtn.disabled = !this.undo.canUndo;
    this.redoBtn.disabled = !this.undo.canRedo;
    for (const b of this.toolsG.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b.dataset.tool === this.tool));
    this.canvas.style.cursor = this.spaceHeld ? "grab" : this.tool === "select" ? "default" : "crosshair";
  }

  updateQueue() {
    const total = this.model.get("total") ?? 0;
    this.posText.textContent = this.index == null ? "" : `${this.index + 1} of ${total}`;
    this.doneText.textContent = `completed: ${this.model.get("completed") ?? 0}`;
    this.root.dataset.total = String(total);
  }

  refreshPanel() {
    const sel = this.selected().filter((i) => i.kind !== "tag");
    const sig = sel.map((i) => i.key + ":" + i.label_id).join(",") + "|" + this.visibleAttrSig(sel);
    if (this.panelEditing && sig === this.panelSig) {
      // an edit made in the panel itself: keep its elements (focus, caret), only refresh the flags
      const vals = (sel[0] && sel[0].attributes) || {};
      for (const f of this.attrBox.querySelectorAll(".nbl-field")) {
        const a = this.attrs.find((x) => x.name === f.dataset.attr);
        const v = vals[f.dataset.attr];
        f.classList.toggle("nbl-missing", !!(a && a.required && (v == null || v === "" || (Array.isArray(v) && !v.length))));
      }
      return;
    }
    this.panelSig = sig;
    if (sel.length) {
      const names = [...new Set(sel.map((i) => (this.labelById.get(i.label_id) || {}).name || String(i.label_id)))];
      this.selLabelText.textContent = `${sel.length} selected: ${names.join(", ")}`;
    } else this.selLabelText.textContent = "";
    buildAttrPanel(this.attrBox, this.attrs, sel, (name, value) => this.setAttr(sel, name, value));
  }

  visibleAttrSig(sel) {
    if (!sel.length) return "";
    const list = attrsForLabel(this.attrs, sel[0].label_id);
    return list.filter((a) => attrVisible(a, list, sel[0].attributes || {})).map((a) => a.name).join(",");
  }

  setAttr(insts, name, value) {
    const changes = [];
    for (const inst of insts) {
      if (!this.inst.has(inst.key)) continue;
      const before = this.snap(inst);
      const a = { ...(inst.attributes || {}) };
      if (value == null) delete a[name];
      else a[name] = value;
      inst.attributes = a;
      changes.push({ inst, before, after: this.snap(inst) });
    }
    this.panelEditing = true;
    try {
      if (changes.length) this.commitUpdates(changes, "attribute");
    } finally {
      this.panelEditing = false;
    }
  }

  buildLayers() {
    const runs = [...new Set([...(this.model.get("runs") || []).map((r) => r.name), ...this.preds.map((p) => p.run || "")])].filter((r) => r !== undefined);
    const rows = [];
    const gt = h("input", { attrs: { type: "checkbox", "data-layer": "gt" }, props: { checked: this.showGT } });
    gt.addEventListener("change", () => { this.showGT = gt.checked; this.requestDraw(true); });
    rows.push(h("label", { cls: "nbl-layer" }, [gt, h("span", { text: "ground truth" })]));
    for (const r of runs) {
      if (!this.preds.some((p) => (p.run || "") === r) && !(this.model.get("runs") || []).some((x) => x.name === r)) continue;
      const cb = h("input", { attrs: { type: "checkbox", "data-run": r }, props: { checked: !this.hiddenRuns.has(r) } });
      cb.addEventListener("change", () => { cb.checked ? this.hiddenRuns.delete(r) : this.hiddenRuns.add(r); this.sync(); this.requestDraw(true); });
      rows.push(h("label", { cls: "nbl-layer" }, [cb, h("span", { cls: "nbl-swatch", style: { background: this.runColor(r) } }), h("span", { text: r || "(run)" })]));
    }
    if (this.preds.length) {
      const val = h("span", { cls: "nbl-muted", text: this.threshold.toFixed(2) });
      const th = h("input", { cls: "nbl-threshold", attrs: { type: "range", min: 0, max: 1, step: 0.01, "aria-label": "confidence threshold" } });
      th.value = String(this.threshold);
      th.addEventListener("input", () => { this.threshold = Number(th.value); val.textContent = this.threshold.toFixed(2); this.sync(); this.requestDraw(true); });
      rows.push(h("label", { cls: "nbl-layer" }, [h("span", { text: "score ≥" }), th, val]));
    }
    this.layersBox.replaceChildren(...rows);
  }

  buildReview() {
    const review = this.model.get("mode") === "review";
    this.reviewBox.classList.toggle("nbl-hidden", !review);
    if (!review) return this.reviewBox.replaceChildren();
    this.reviewBox.replaceChildren(
      h("h4", { text: "Review" }),
      this.btn("Accept prediction (A)", "accept the prediction into GT", () => this.act({ action: "verdict", arg: "accept_pred" }), { attrs: { "data-verdict": "accept_pred" } }),
      this.btn("Delete GT (X)", "delete the ground-truth instance", () => this.act({ action: "verdict", arg: "delete_gt" }), { attrs: { "data-verdict": "delete_gt" } }),
      this.btn("Confirm GT (Y)", "the ground truth is right", () => this.act({ action: "verdict", arg: "confirm_gt" }), { attrs: { "data-verdict": "confirm_gt" } }),
    );
  }

  // ------------------------------------------------------------------ events
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

  screenPt(e) {
    const r = this.canvas.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  }

  imgPt(e, clampIt = true) {
    const [sx, sy] = this.screenPt(e);
    let [x, y] = this.view.toImage(sx, sy);
    if (clampIt && this.item) { x = clamp(x, 0, this.W); y = clamp(y, 0, this.H); }
    return [x, y];
  }

  gtList() {
    if (!this.showGT) return [];
    const out = [];
    for (const i of this.inst.values()) if (i.kind !== "tag") out.push(i);
    return out;
  }

  onWheel(e) {
    e.preventDefault();
    e.stopPropagation();
    const [sx, sy] = this.screenPt(e);
    const dy = e.deltaMode === 1 ? e.deltaY * 30 : e.deltaY;
    this.zoomAt(sx, sy, Math.exp(-dy * 0.0015));
  }

  onDown(e) {
    this.lastInput = performance.now();
    e.preventDefault(); // no text selection, no native drag
    if (!this.hasFocus() || isTyping(document.activeElement)) this.root.focus({ preventScroll: true });
    if (!this.item) return;
    this.flushNudge();
    try { this.canvas.setPointerCapture(e.pointerId); } catch (_) { /* synthetic events */ }
    const [sx, sy] = this.screenPt(e);
    if (e.button === 1 || (e.button === 0 && this.spaceHeld)) {
      this.drag = { type: "pan", sx, sy, tx: this.view.tx, ty: this.view.ty };
      this.canvas.style.cursor = "grabbing";
      return;
    }
    if (e.button !== 0) return;
    const [x, y] = this.imgPt(e);
    const tol = TOL / this.view.s;
    const tool = this.tool;
    const d = this.drawing;
    // --- drawing in progress (polygon / line / keypoints)
    if (d && (d.type === "polygon" || d.type === "line")) {
      const first = d.pts[0];
      if (d.type === "polygon" && d.pts.length >= 3 && Math.hypot(first[0] - x, first[1] - y) * this.view.s <= 8) return this.finishDrawing();
      d.pts.push([x, y]);
      this.requestDraw();
      return;
    }
    if (d && d.type === "keypoints") {
      d.placer.place(x, y);
      if (d.placer.done) this.finishDrawing();
      else this.requestDraw();
      return;
    }
    // --- editing the single selected instance (handles, vertices, edges)
    const single = this.sel.size === 1 ? this.selected()[0] : null;
    if (single && (tool === "select" || tool === single.kind)) {
      if (single.kind === "box") {
        const hd = hitHandle(single.box, x, y, tol);
        if (hd) {
          this.drag = { type: "resize", inst: single, handle: hd, x0: x, y0: y, box0: single.box.slice(), before: this.snap(single), sx, sy };
          return;
        }
      } else if (single.points && single.kind !== "point") {
        const vtx = nearestVertex(single.points, x, y);
        if (vtx && vtx.d <= tol) {
          this.selVertex = { key: single.key, index: vtx.index };
          this.drag = { type: "vertex", inst: single, index: vtx.index, before: this.snap(single), x0: x, y0: y, p0: single.points[vtx.index].slice(), sx, sy };
          this.requestDraw();
          return;
        }
        if (single.kind === "polygon" || single.kind === "line") {
          const edge = nearestEdge(single.points, x, y, single.kind === "polygon");
          if (edge && (edge.d <= tol || (e.altKey && edge.d <= tol * 4))) {
            const before = this.snap(single);
            single.points = insertVertex(single.points, edge.index, [edge.x, edge.y]);
            this.selVertex = { key: single.key, index: edge.index };
            this.drag = { type: "vertex", inst: single, index: edge.index, before, x0: x, y0: y, p0: [edge.x, edge.y], sx, sy, inserted: true };
            this.requestDraw();
            return;
          }
        }
      }
    }
    const hit = hitTest(this.gtList(), x, y, tol);
    if (tool === "select") {
      if (hit) {
        if (e.shiftKey) {
          const s = new Set(this.sel);
          s.has(hit.key) ? s.delete(hit.key) : s.add(hit.key);
          this.setSelection(s);
          return;
        }
        if (!this.sel.has(hit.key)) this.setSelection([hit.key]);
        this.startMove(x, y, sx, sy);
        return;
      }
      const ph = hitTest(this.visiblePreds(), x, y, tol);
      if (ph) {
        this.selPred = ph;
        if (this.sel.size) this.setSelection([]);
        this.requestDraw();
        return;
      }
      this.selPred = null;
      this.drag = { type: "band", x0: x, y0: y, x1: x, y1: y, additive: e.shiftKey, base: new Set(e.shiftKey ? this.sel : []) };
      if (!e.shiftKey && this.sel.size) this.setSelection([]);
      this.requestDraw();
      return;
    }
    if (tool === "box") {
      if (hit && this.sel.has(hit.key)) return this.startMove(x, y, sx, sy);
      this.drawing = { type: "box", x0: x, y0: y, x1: x, y1: y, sx, sy, hit };
      this.sync();
      return;
    }
    if (tool === "point") {
      if (hit && hit.kind === "point") {
        if (!this.sel.has(hit.key)) this.setSelection([hit.key]);
        return this.startMove(x, y, sx, sy);
      }
      this.drawing = { type: "point", x, y };
      this.sync();
      return;
    }
    if (tool === "polygon" || tool === "line") {
      this.drawing = { type: tool, pts: [[x, y]], cursor: [x, y] };
      this.setSelection([]);
      this.sync();
      return;
    }
    if (tool === "keypoints") {
      const l = this.label;
      const names = l && l.keypoints && l.keypoints.points;
      if (!names || !names.length) {
        this.msg(`Label "${l ? l.name : "?"}" has no keypoint template`, true);
        return;
      }
      const placer = new KeypointPlacer(names);
      if (this.pendingKp) { for (const a of this.pendingKp) a === "v" ? placer.markNotVisible() : placer.skip(); this.pendingKp = null; }
      placer.place(x, y);
      this.drawing = { type: "keypoints", placer, cursor: [x, y] };
      this.setSelection([]);
      if (placer.done) this.finishDrawing();
      this.sync();
    }
  }

  startMove(x, y, sx, sy) {
    const before = new Map();
    for (const i of this.selected()) before.set(i.key, { inst: i, snap: this.snap(i) });
    this.drag = { type: "move", x0: x, y0: y, sx, sy, before, moved: false };
  }

  onMove(e) {
    const [sx, sy] = this.screenPt(e);
    const dr = this.drag;
    if (dr) {
      this.lastInput = performance.now();
      if (dr.type === "pan") {
        this.view.tx = dr.tx + (sx - dr.sx);
        this.view.ty = dr.ty + (sy - dr.sy);
        this.userMoved = true;
        this.sync();
        this.requestDraw(true);
        return;
      }
      const [x, y] = this.imgPt(e, dr.type !== "move");
      if (dr.type === "move") {
        if (!dr.moved && Math.hypot(sx - dr.sx, sy - dr.sy) < 3) return;
        dr.moved = true;
        // one delta for the whole selection, clamped so every instance stays inside the image
        let dx = x - dr.x0, dy = y - dr.y0;
        for (const { snap } of dr.before.values()) [dx, dy] = clampDelta(snap.box, dx, dy, this.W, this.H);
        for (const { inst, snap } of dr.before.values()) Object.assign(inst, translateGeom(snap, dx, dy));
        this.requestDraw();
      } else if (dr.type === "resize") {
        dr.moved = dr.moved || Math.hypot(sx - dr.sx, sy - dr.sy) >= 2;
        dr.inst.box = clampBox(resizeBox(dr.box0, dr.handle, x - dr.x0, y - dr.y0), this.W, this.H);
        this.requestDraw();
      } else if (dr.type === "vertex") {
        dr.moved = dr.moved || Math.hypot(sx - dr.sx, sy - dr.sy) >= 2;
        const p = dr.inst.points[dr.index];
        p[0] = clamp(dr.p0[0] + (x - dr.x0), 0, this.W);
        p[1] = clamp(dr.p0[1] + (y - dr.y0), 0, this.H);
        dr.inst.box = extentOf(dr.inst.points);
        this.requestDraw();
      } else if (dr.type === "band") {
        dr.x1 = x;
        dr.y1 = y;
        this.requestDraw();
      }
      return;
    }
    const d = this.drawing;
    if (d) {
      const [x, y] = this.imgPt(e);
      if (d.type === "box") { d.x1 = x; d.y1 = y; }
      else if (d.cursor) d.cursor = [x, y];
      this.requestDraw();
      return;
    }
    // hover
    if (!this.item) return;
    const [x, y] = this.imgPt(e, false);
    const tol = TOL / this.view.s;
    const hit = hitTest(this.gtList(), x, y, tol);
    const ph = hit ? null : hitTest(this.visiblePreds(), x, y, tol);
    if (hit !== this.hover || ph !== this.hoverPred) {
      this.hover = hit;
      this.hoverPred = ph;
      this.requestDraw();
    }
    let cur = this.spaceHeld ? "grab" : this.tool === "select" ? "default" : "crosshair";
    const single = this.sel.size === 1 ? this.selected()[0] : null;
    if (single && single.kind === "box" && (this.tool === "select" || this.tool === "box")) {
      const hd = hitHandle(single.box, x, y, tol);
      if (hd) cur = HANDLE_CURSOR[hd];
      else if (pointInBox(x, y, single.box)) cur = "move";
    } else if (hit && this.sel.has(hit.key)) cur = "move";
    this.canvas.style.cursor = cur;
  }

  onUp(e, cancelled = false) {
    try { this.canvas.releasePointerCapture(e.pointerId); } catch (_) { /* not captured */ }
    const dr = this.drag;
    this.drag = null;
    if (dr) {
      if (dr.type === "pan") { this.sync(); return; }
      if (dr.type === "move") {
        if (!dr.moved || cancelled) {
          for (const { inst, snap } of dr.before.values()) this.applySnap(inst, snap);
          this.requestDraw();
          return;
        }
        const changes = [...dr.before.values()].map(({ inst, snap }) => ({ inst, before: snap, after: this.snap(inst) }));
        this.commitUpdates(changes, "move");
      } else if (dr.type === "resize") {
        if (!dr.moved || cancelled) { this.applySnap(dr.inst, dr.before); this.requestDraw(); return; }
        this.commitUpdates([{ inst: dr.inst, before: dr.before, after: this.snap(dr.inst) }], "resize");
      } else if (dr.type === "vertex") {
        if ((!dr.moved && !dr.inserted) || cancelled) { this.applySnap(dr.inst, dr.before); this.requestDraw(); return; }
        dr.inst.box = extentOf(dr.inst.points);
        this.commitUpdates([{ inst: dr.inst, before: dr.before, after: this.snap(dr.inst) }], dr.inserted ? "insert vertex" : "move vertex");
      } else if (dr.type === "band") {
        const r = normBox(dr.x0, dr.y0, dr.x1, dr.y1);
        const inside = inRect(this.gtList(), r).map((i) => i.key);
        this.setSelection(new Set([...dr.base, ...inside]));
      }
      return;
    }
    const d = this.drawing;
    if (!d || cancelled) return;
    if (d.type === "box") {
      this.drawing = null;
      const [sx, sy] = this.screenPt(e);
      if (Math.hypot(sx - d.sx, sy - d.sy) < 3) {
        // a click, not a drag: select what is under the pointer
        this.setSelection(d.hit ? [d.hit.key] : []);
        return;
      }
      const [x, y] = this.imgPt(e);
      const box = clampBox(normBox(d.x0, d.y0, x, y), this.W, this.H);
      this.sync();
      if (box[2] - box[0] < 1 || box[3] - box[1] < 1) { this.requestDraw(); return; }
      const inst = this.newInst({ label_id: this.labelId, kind: "box", box, points: null });
      this.commitCreate([inst], "draw box");
      this.setSelection([inst.key]);
    } else if (d.type === "point") {
      this.drawing = null;
      const inst = this.newInst({ label_id: this.labelId, kind: "point", box: [d.x, d.y, d.x, d.y], points: [[d.x, d.y]] });
      this.commitCreate([inst], "draw point");
      this.setSelection([inst.key]);
    }
  }

  cleanPts(pts) {
    const out = [];
    const tol = 3 / this.view.s;
    for (const p of pts) {
      const q = out[out.length - 1];
      if (!q || Math.hypot(q[0] - p[0], q[1] - p[1]) > tol) out.push(p);
    }
    return out;
  }

  finishDrawing() {
    const d = this.drawing;
    if (!d) return;
    if (d.type === "polygon" || d.type === "line") {
      const pts = this.cleanPts(d.pts);
      if (d.type === "polygon" && pts.length >= 3) {
        const f = pts[0], l = pts[pts.length - 1];
        if (pts.length > 3 && Math.hypot(f[0] - l[0], f[1] - l[1]) * this.view.s <= 3) pts.pop();
      }
      const min = d.type === "polygon" ? 3 : 2;
      if (pts.length < min) { this.msg(`A ${d.type} needs at least ${min} points`, true); return; }
      this.drawing = null;
      const inst = this.newInst({ label_id: this.labelId, kind: d.type, points: pts, box: extentOf(pts) });
      this.commitCreate([inst], "draw " + d.type);
      this.setSelection([inst.key]);
    } else if (d.type === "keypoints") {
      if (!d.placer.labeled) { this.cancelDrawing(); return; }
      this.drawing = null;
      const pts = d.placer.result();
      const inst = this.newInst({ label_id: this.labelId, kind: "keypoints", points: pts, box: extentOf(pts) });
      this.commitCreate([inst], "draw keypoints");
      this.setSelection([inst.key]);
    }
    this.sync();
  }

  cancelDrawing(redraw = true) {
    this.drawing = null;
    this.pendingKp = null;
    if (redraw) { this.sync(); this.requestDraw(); }
  }

  // ------------------------------------------------------------------ keyboard
  onKey(e) {
    const key = keyName(e);
    if (PASS_THROUGH.has(key)) return; // run cell / save notebook stay with the host
    e.stopPropagation(); // never let JupyterLab command-mode shortcuts see keys typed in the widget
    this.lastInput = performance.now();
    if (isTyping(e.target)) {
      if (key === "Escape") { e.preventDefault(); this.root.focus({ preventScroll: true }); }
      return; // inputs keep their keys
    }
    if (key === "Space") {
      e.preventDefault();
      this.spaceHeld = true;
      this.canvas.style.cursor = "grab";
      return;
    }
    const ctx = { drawing: this.drawing && this.drawing.type !== "box" && this.drawing.type !== "point" ? this.drawing.type : null, hasSelection: this.sel.size > 0, mode: this.model.get("mode"), labelKeys: this.labelKeys };
    let a = resolveKey(key, ctx);
    // before the first keypoint is placed, V / N pre-mark the first point(s)
    if (!ctx.drawing && this.tool === "keypoints" && (key === "V" || key === "N")) a = { action: key === "V" ? "kp_pre_nv" : "kp_pre_skip" };
    if (!a) {
      // unhandled plain characters do nothing (no find-as-you-type); browser combos (Ctrl+R, Ctrl+F) stay
      if (e.key.length === 1 && !e.ctrlKey && !e.metaKey) e.preventDefault();
      return;
    }
    e.preventDefault();
    this.act(a);
  }

  onKeyUp(e) {
    const key = keyName(e);
    if (PASS_THROUGH.has(key)) return;
    e.stopPropagation();
    if (e.key === " " || e.key === "Spacebar") { this.spaceHeld = false; this.sync(); }
  }

  act(a) {
    const arg = a.arg;
    if (a.action !== "nudge") this.flushNudge();
    switch (a.action) {
      case "label": return this.pickLabel(arg);
      case "tool": return this.setTool(arg);
      case "undo":
        if (this.drawing) return this.act({ action: "undo_point" });
        return this.afterUndo(this.undo.undo());
      case "redo":
        return this.afterUndo(this.undo.redo());
      case "duplicate": return this.duplicate();
      case "select_all": return this.setSelection(this.gtList().map((i) => i.key));
      case "copy_to_next": return this.copyToNext();
      case "help": this.help.classList.toggle("nbl-hidden"); this.root.dataset.help = this.help.classList.contains("nbl-hidden") ? "0" : "1"; return;
      case "escape":
        if (!this.help.classList.contains("nbl-hidden")) { this.help.classList.add("nbl-hidden"); this.root.dataset.help = "0"; return; }
        this.selPred = null;
        return this.setSelection([]);
      case "delete": return this.deleteSelection();
      case "fit": this.fitView(); this.requestDraw(true); return;
      case "one_to_one": this.view.zoomTo(this.vw / 2, this.vh / 2, 1); this.userMoved = true; this.sync(); this.requestDraw(true); return;
      case "zoom": return this.zoomAt(this.vw / 2, this.vh / 2, arg);
      case "skip": return this.openSkip();
      case "complete": return this.complete();
      case "nudge": return this.doNudge(arg[0], arg[1]);
      case "next": return this.nav("next");
      case "prev": return this.nav("prev");
      case "accept": return this.accept();
      case "reject": return this.reject();
      case "verdict": return this.verdict(arg);
      case "kp_not_visible": this.drawing.placer.markNotVisible(); this.requestDraw(); return;
      case "kp_skip": this.drawing.placer.skip(); if (this.drawing.placer.done) this.finishDrawing(); else this.requestDraw(); return;
      case "kp_pre_nv": (this.pendingKp ||= []).push("v"); this.msg("next keypoint: labeled, not visible"); return;
      case "kp_pre_skip": (this.pendingKp ||= []).push("n"); this.msg("next keypoint skipped"); return;
      case "finish_drawing": return this.finishDrawing();
      case "cancel_drawing": return this.cancelDrawing();
      case "undo_point": {
        const d = this.drawing;
        if (d && d.pts) { d.pts.pop(); if (!d.pts.length) this.cancelDrawing(); else this.requestDraw(); }
        else if (d && d.type === "keypoints") this.cancelDrawing();
        return;
      }
      default: return;
    }
  }

  afterUndo(cmd) {
    if (!cmd) return;
    if (cmd.keys) {
      this.sel = new Set(cmd.keys.filter((k) => this.inst.has(k)));
      this.selVertex = null;
    }
    this.buildTags();
    this.changed();
  }

  doNudge(dx, dy) {
    const sel = this.selected();
    if (!sel.length) return;
    if (!this.nudge) {
      this.nudge = new Map(sel.map((i) => [i.key, { inst: i, snap: this.snap(i) }]));
      this.nudge.dx = 0;
      this.nudge.dy = 0;
    }
    let tdx = this.nudge.dx + dx, tdy = this.nudge.dy + dy;
    for (const { snap } of this.nudge.values()) [tdx, tdy] = clampDelta(snap.box, tdx, tdy, this.W, this.H);
    this.nudge.dx = tdx;
    this.nudge.dy = tdy;
    for (const { inst, snap } of this.nudge.values()) Object.assign(inst, translateGeom(snap, tdx, tdy));
    clearTimeout(this.nudgeTimer);
    this.nudgeTimer = setTimeout(() => this.flushNudge(), 500);
    this.sync();
    this.requestDraw();
  }

  flushNudge() {
    clearTimeout(this.nudgeTimer);
    const n = this.nudge;
    this.nudge = null;
    if (!n || (!n.dx && !n.dy)) { if (n) this.sync(); return; }
    const changes = [...n.values()].filter(({ inst }) => this.inst.has(inst.key)).map(({ inst, snap }) => ({ inst, before: snap, after: this.snap(inst) }));
    if (changes.length) this.commitUpdates(changes, "move");
  }

  deleteSelection() {
    const sv = this.selVertex;
    if (sv) {
      const inst = this.inst.get(sv.key);
      if (inst && inst.points) {
        const before = this.snap(inst);
        let pts = null;
        if (inst.kind === "keypoints") {
          pts = inst.points.map((p) => p.slice());
          pts[sv.index] = [0, 0, 0];
        } else pts = deleteVertex(inst.points, sv.index, inst.kind === "line" ? 2 : 3);
        if (!pts) { this.msg(`A ${inst.kind} needs at least ${inst.kind === "line" ? 2 : 3} points`, true); return; }
        inst.points = pts;
        inst.box = extentOf(pts);
        this.selVertex = null;
        this.commitUpdates([{ inst, before, after: this.snap(inst) }], "delete vertex");
        return;
      }
    }
    const sel = this.selected();
    if (!sel.length) return;
    this.commitDelete(sel);
  }

  duplicate() {
    const sel = this.selected().filter((i) => i.kind !== "tag");
    if (!sel.length) return;
    const off = Math.max(1, Math.round(10 / this.view.s));
    const copies = sel.map((i) => {
      let [dx, dy] = clampDelta(i.box, off, off, this.W, this.H);
      if (!dx && !dy) [dx, dy] = clampDelta(i.box, -off, -off, this.W, this.H);
      const g = translateGeom({ box: i.box, points: i.points }, dx, dy);
      return this.newInst({ label_id: i.label_id, kind: i.kind, box: g.box, points: g.points, attributes: deep(i.attributes || {}) });
    });
    this.commitCreate(copies, "duplicate");
    this.setSelection(copies.map((c) => c.key));
  }

  copyToNext() {
    const sel = this.selected();
    if (!sel.length) { this.msg("Select instances to copy to the next image", true); return; }
    const refs = sel.map((i) => i.ref), media_id = this.item && this.item.media_id, next = (this.index ?? 0) + 1;
    this.saver.enqueue({
      build: () => ({ kind: "copy_to_next", media_id, instance_ids: refs.map((r) => r.id) }),
      onOk: (r) => { this.cache.delete(next); this.msg(`Copied ${r.count ?? refs.length} to the next image`); },
    });
  }

  targetPred() {
    return (this.selPred && !this.selPred.hidden && this.selPred) || (this.hoverPred && !this.hoverPred.hidden && this.hoverPred) || null;
  }

  accept() {
    const p = this.targetPred();
    if (!p) { this.msg("Select or hover a prediction to accept it", true); return; }
    const cmd = { inst: null, undone: false };
    const run = () => {
      cmd.undone = false;
      p.hidden = true;
      const pred_id = p.ref.id;
      this.saver.enqueue({
        build: () => ({ kind: "accept", pred_id }),
        onOk: (r) => {
          if (!r.instance || cmd.undone) return;
          const inst = this.fromServer(r.instance);
          cmd.inst = inst;
          if (this.item && this.preds.includes(p)) { this.inst.set(inst.key, inst); this.changed(); }
        },
      });
      if (this.selPred === p) this.selPred = null;
      this.changed();
    };
    run();
    this.undo.push({
      name: "accept",
      undo: () => {
        cmd.undone = true;
        p.hidden = false;
        this.saver.enqueue({
          build: () => {
            if (!cmd.inst) return null;
            this.inst.delete(cmd.inst.key);
            this.sel.delete(cmd.inst.key);
            return { kind: "save", op: "delete", media_id: this.item && this.item.media_id, instance_id: cmd.inst.ref.id };
          },
          onOk: () => this.changed(),
        });
      },
      redo: run,
    });
  }

  reject() {
    const p = this.targetPred();
    if (!p) { this.msg("Select or hover a prediction to reject it", true); return; }
    p.hidden = true;
    if (this.selPred === p) this.selPred = null;
    const pred_id = p.ref.id;
    this.saver.enqueue({ build: () => ({ kind: "reject", pred_id }) });
    this.changed();
  }

  verdict(v) {
    const f = this.focus() || {};
    let gt = this.sel.size === 1 ? this.selected()[0] : null;
    let pred = this.targetPred();
    const best = (list) => {
      if (!f.box) return null;
      let b = null, bi = 0;
      for (const i of list) { if (!i.box) continue; const o = iou(i.box, f.box); if (o > bi) { bi = o; b = i; } }
      return b;
    };
    if (!gt && f.gt_id != null) gt = this.gtList().find((i) => i.ref.id === f.gt_id) || null;
    if (!pred && f.pred_id != null) pred = this.preds.find((p) => p.ref.id === f.pred_id) || null;
    gt = gt || best(this.gtList());
    pred = pred || best(this.preds.filter((p) => !p.hidden));
    const msg = { kind: "verdict", verdict: v, media_id: this.item && this.item.media_id };
    if (v === "accept_pred") { if (!pred) return this.msg("No prediction to accept", true); msg.pred_id = pred.ref.id; if (gt) msg.gt_id = gt.ref.id; }
    if (v === "delete_gt" || v === "confirm_gt") { if (!gt) return this.msg("No ground-truth instance to judge", true); msg.gt_id = gt.ref.id; if (pred) msg.pred_id = pred.ref.id; }
    this.saver.enqueue({
      build: () => msg,
      onOk: (r) => {
        if (v === "accept_pred" && pred) pred.hidden = true;
        if (r.instance) { const inst = this.fromServer(r.instance); this.inst.set(inst.key, inst); }
        if (v === "delete_gt" && gt) this.inst.delete(gt.key);
        this.msg(`verdict: ${v.replace("_", " ")}`);
        this.root.dataset.verdict = v;
        this.changed();
      },
    });
  }

  // ------------------------------------------------------------------ queue: nav, skip, complete
  nav(action) {
    const total = this.model.get("total") ?? 0;
    if (action === "next" && this.index != null && this.index + 1 >= total) return this.msg("This is the last item");
    if (action === "prev" && !this.index) return this.msg("This is the first item");
    this.flushNudge();
    const seconds = this.secondsActive();
    if (seconds >= 1 && this.item && this.item.status !== "complete" && this.item.status !== "skipped") {
      this.sendStatus("in_progress", { quiet: true });
    }
    this.saver.enqueue({
      build: () => ({ kind: "nav", action }),
      noRetry: true,
      timeoutMs: 30000,
      onOk: (r) => this.goTo(r.index),
      onFail: (err) => this.msg(`Could not move ${action}: ${err}`, true),
    });
  }

  sendStatus(state, { reason, quiet = false } = {}) {
    const m = { kind: "status", state, seconds_active: this.secondsActive(), media_id: this.item && this.item.media_id };
    if (reason) m.reason = reason;
    this.saver.enqueue({
      build: () => m,
      noRetry: true,
      timeoutMs: 30000,
      onOk: (r) => {
        if (quiet) return;
        this.activeMs = 0;
        if (this.item) this.item.status = state === "complete" ? "complete" : state === "skipped" ? "skipped" : this.item.status;
        this.root.dataset.status = state;
        this.msg(state === "complete" ? "Completed ✓" : state === "skipped" ? "Skipped" : "");
        if (r.completed != null) this.doneText.textContent = `completed: ${r.completed}`;
        if (r.index != null && r.index !== this.index) this.goTo(r.index);
      },
      onFail: (err) => this.msg(`Could not mark ${state}: ${err}`, true),
    });
  }

  missing() {
    const out = [];
    for (const inst of this.inst.values()) {
      const names = missingRequired(this.attrs, inst);
      if (names.length) out.push({ inst, names });
    }
    return out;
  }

  complete() {
    if (!this.item) return;
    if (this.drawing) return;
    const miss = this.missing();
    this.root.dataset.missing = String(miss.length);
    if (miss.length) {
      const parts = miss.slice(0, 5).map(({ inst, names }) => `${(this.labelById.get(inst.label_id) || {}).name || inst.label_id}: ${names.join(", ")}`);
      this.msg(`Cannot complete – missing required attributes: ${parts.join("; ")}${miss.length > 5 ? " …" : ""}`, true);
      this.setSelection([miss[0].inst.key]);
      return;
    }
    this.sendStatus("complete");
  }

  openSkip() {
    this.dialog.classList.remove("nbl-hidden");
    this.skipInput.value = "";
    this.skipInput.focus();
  }

  closeSkip() {
    this.dialog.classList.add("nbl-hidden");
    this.root.focus({ preventScroll: true });
  }

  confirmSkip() {
    const reason = this.skipInput.value.trim();
    this.closeSkip();
    this.sendStatus("skipped", { reason: reason || "unspecified" });
  }
}
