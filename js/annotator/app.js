// @ts-check
// One view of the annotator: builds the parts, gives each only what it needs, and routes actions
// (keys, buttons, panel) and the tools' steps to them. The session (rpc + save queue) belongs to
// the model and is shared by every view of it.
import { UndoStack } from "./undo.js";
import { createState, applySchema, allowedTools, firstTool, selected, gtList, drawingOf, currentLabel, setRecent, useLabel } from "./state.js";
import { buildLayout } from "./layout.js";
import { Toolbar } from "./toolbar.js";
import { Panel } from "./panel.js";
import { Renderer } from "./renderer.js";
import { Viewport } from "./viewport.js";
import { Loader, showItem } from "./loader.js";
import { Editor } from "./editor.js";
import { Nudge } from "./nudge.js";
import { Review } from "./review.js";
import { Queue } from "./queue.js";
import { Activity } from "./activity.js";
import { Pointer } from "./pointer.js";
import { keyHandlers } from "./keyboard.js";
import { mirror, mirrorQueue } from "./mirror.js";
import { copiesOf, relabel, withAttr, deleteVertexEdit } from "./commands.js";
import { toolFor, TOOLS } from "./tools/index.js";
import { TOOL_NAMES } from "./hotkeys.js";
import { SPATIAL_TOOLS, isTyping } from "./common.js";

/** @typedef {import("./types.js").AnyModel} AnyModel */
/** @typedef {import("./hotkeys.js").Action} Action */
/** @typedef {import("./types.js").Step} Step */

export class AnnotatorView {
  /**
   * @param {AnyModel} model
   * @param {HTMLElement} el
   * @param {import("./session.js").Session} session
   */
  constructor(model, el, session) {
    this.model = model;
    this.session = session;
    /** @type {(() => void)[]} */
    this.disposers = [];
    const s = (this.state = createState());
    s.recent = model.get("recent_labels") || []; // applySchema keeps the ids of labels that exist
    applySchema(s, model.get("schema"));
    this.readTraits();
    const dom = (this.dom = buildLayout(el, (a) => this.act(a), s.display));
    const data = dom.root.dataset;
    const undo = (this.undo = new UndoStack());
    const saves = session.saves;
    const msg = (/** @type {string} */ t, e = false) => this.msg(t, e);
    this.editor = new Editor({ state: s, saves, undo, changed: () => this.changed(), tagsChanged: () => { this.toolbar.renderTags(); this.sync(); } });
    this.renderer = new Renderer({ state: s, canvas: dom.canvas, stage: dom.stage, data, firstFrame: () => this.loader.firstFrame(), resized: (first) => this.viewport.resized(first) });
    this.viewport = new Viewport({ state: s, renderer: this.renderer, data, changed: () => this.sync() });
    this.nudge = new Nudge({ state: s, editor: this.editor, moved: () => { this.sync(); this.renderer.request(); } });
    this.activity = new Activity({ focused: () => this.hasFocus(), data });
    this.loader = new Loader({
      state: s, request: (m, t) => session.rpc.request(m, t), data, total: () => model.get("total"),
      beforeLoad: () => this.nudge.flush(), show: (...a) => this.show(...a), fullIn: () => this.renderer.request(true), error: (t) => msg(t, true),
    });
    this.review = new Review({ state: s, saves, undo, changed: () => this.changed(), msg, data });
    this.queue = new Queue({
      state: s, saves, total: () => model.get("total") ?? 0, goTo: (i) => this.loader.goTo(i), activity: this.activity, msg,
      select: (k) => this.select(k), completed: (n) => { dom.doneText.textContent = `completed: ${n}`; }, beforeLeave: () => this.nudge.flush(), data,
    });
    this.toolbar = new Toolbar({ state: s, dom, dispatch: (a) => this.act(a) });
    this.panel = new Panel({ state: s, dom, dispatch: (a) => this.act(a), runNames: () => (model.get("runs") || []).map((r) => r.name) });
    this.pointer = new Pointer({
      state: s, canvas: dom.canvas, run: (st) => this.run(st), zoomAt: (x, y, f) => this.viewport.zoomAt(x, y, f), redraw: () => this.renderer.request(),
      input: () => this.activity.input(),
      beforeDown: () => {
        this.activity.input();
        if (!this.hasFocus() || isTyping(document.activeElement)) dom.root.focus({ preventScroll: true });
        this.nudge.flush();
      },
    });
    this.toolbar.render();
    this.bindModel();
    this.bindEvents();
    this.sync();
  }

  readTraits() {
    const s = this.state, m = this.model;
    s.runs = m.get("runs") || [];
    s.queueMode = m.get("mode") || "label";
    s.focusTrait = m.get("focus") || null;
    s.author = m.get("author") || null;
  }

  async start() {
    if (this.model.get("total") === 0) { this.msg("The queue is empty."); return; }
    await this.loader.goTo(this.model.get("index") || 0);
  }

  bindModel() {
    /** @param {string} ev @param {() => void} f */
    const on = (ev, f) => { this.model.on(ev, f); this.disposers.push(() => this.model.off(ev, f)); };
    const s = this.state;
    on("change:index", () => this.loader.goTo(this.model.get("index")));
    on("change:total", () => { this.updateQueue(); if (!s.item && this.model.get("total")) this.loader.goTo(this.model.get("index") || 0); });
    on("change:completed", () => this.updateQueue());
    on("change:schema", () => { applySchema(s, this.model.get("schema")); this.toolbar.render(); this.panel.refresh(); this.sync(); this.renderer.request(true); });
    on("change:runs", () => { this.readTraits(); this.panel.renderLayers(); this.renderer.request(true); });
    on("change:mode", () => { this.readTraits(); this.panel.renderReview(); this.sync(); });
    on("change:focus", () => { this.readTraits(); this.panel.renderReview(); this.viewport.fitFocus(); this.renderer.request(true); });
    on("change:author", () => this.readTraits());
    on("change:recent_labels", () => { setRecent(s, this.model.get("recent_labels")); this.toolbar.renderLabels(); });
    this.disposers.push(this.session.onSaveState((st) => {
      if (st.state === "failed") this.msg(`Saving failed, retrying: ${st.error}`, true);
      else if (this.saveErrorShown) this.msg("");
      this.saveErrorShown = st.state === "failed";
      this.sync();
    }));
  }

  bindEvents() {
    const { canvas: c, root } = this.dom, p = this.pointer, s = this.state;
    /** @param {EventTarget} t @param {string} ev @param {(e: any) => void} f @param {AddEventListenerOptions} [o] */
    const on = (t, ev, f, o) => { t.addEventListener(ev, f, o); this.disposers.push(() => t.removeEventListener(ev, f, o)); };
    on(c, "pointerdown", (e) => p.down(e));
    on(c, "pointermove", (e) => p.move(e));
    on(c, "pointerup", (e) => p.up(e, false));
    on(c, "pointercancel", (e) => p.up(e, true));
    on(c, "dblclick", (e) => { e.preventDefault(); if (s.mode.type === "draw_path" && s.mode.kind === "line") this.act({ action: "finish_drawing" }); });
    on(c, "wheel", (e) => p.wheel(e), { passive: false });
    on(c, "contextmenu", (e) => e.preventDefault());
    on(c, "dragstart", (e) => e.preventDefault());
    const keys = keyHandlers({
      state: s, root, dispatch: (a) => this.act(a), input: () => this.activity.input(),
      space: (held) => { s.spaceHeld = held; if (held) c.style.cursor = "grab"; else this.sync(); },
    });
    on(root, "keydown", keys.down);
    on(root, "keyup", keys.up);
    on(root, "keypress", keys.press);
    on(root, "pointerdown", (e) => {
      this.activity.input();
      if (!isTyping(e.target) && !isTyping(document.activeElement)) root.focus({ preventScroll: true });
    });
    on(root, "input", () => this.activity.input());
    on(root, "focusout", (e) => { if (!root.contains(e.relatedTarget)) { s.spaceHeld = false; this.sync(); } });
    // after ticking a checkbox / radio in the panel, give the keyboard back to the widget
    on(root, "change", (e) => { if (e.target && (e.target.type === "checkbox" || e.target.type === "radio")) root.focus({ preventScroll: true }); });
    const ro = new ResizeObserver(() => this.renderer.resize());
    ro.observe(this.dom.stage);
    this.disposers.push(() => ro.disconnect());
    const iv = setInterval(() => this.activity.tick(), 1000);
    this.disposers.push(() => clearInterval(iv));
  }

  hasFocus() {
    const a = document.activeElement, root = this.dom.root;
    return !!a && (a === root || root.contains(a));
  }

  dispose() {
    for (const d of this.disposers) d();
    this.nudge.flush();
    this.renderer.dispose();
    this.viewport.dispose();
    this.loader.dispose();
    this.dom.root.remove();
  }

  // ---- state changes shared by the parts

  /** @param {string} text @param {boolean} [error] */
  msg(text, error = false) {
    this.dom.msgText.textContent = text || "";
    this.dom.msgText.classList.toggle("nbl-error", !!error);
    this.dom.root.dataset.message = text || "";
  }

  sync() {
    const q = this.session.saves, pending = q.pending + (this.nudge && this.nudge.pending ? 1 : 0);
    mirror(this.dom, this.state, { state: q.state, pending, error: q.error, canUndo: this.undo.canUndo, canRedo: this.undo.canRedo });
    this.toolbar.syncTools();
  }

  updateQueue() {
    mirrorQueue(this.dom, this.state.index, this.model.get("total") ?? 0, this.model.get("completed") ?? 0);
  }

  /** Instances changed: drop selected keys that are gone, refresh the panel, redraw. */
  changed() {
    const s = this.state;
    for (const k of [...s.sel]) if (!s.inst.has(k)) s.sel.delete(k);
    if (s.selVertex && !s.sel.has(s.selVertex.key)) s.selVertex = null;
    this.panel.refresh();
    this.sync();
    this.renderer.request(true);
  }

  /** @param {Iterable<string>} keys @param {{keepVertex?: boolean}} [o] */
  select(keys, { keepVertex = false } = {}) {
    const s = this.state;
    s.sel = new Set(keys);
    if (!keepVertex) s.selVertex = null;
    if (s.sel.size) s.selPred = null;
    this.panel.refresh();
    this.sync();
    this.renderer.request(true);
  }

  /** Apply what a tool returned. @param {Step} st */
  run(st) {
    const s = this.state;
    if (st.edit) this.editor.apply(st.edit);
    if (st.mode) s.mode = st.mode;
    if (st.pendingKp !== undefined) s.pendingKp = st.pendingKp;
    if (st.pan) this.viewport.panTo(st.pan.tx, st.pan.ty);
    if (st.select) this.select(st.select);
    if (st.selVertex !== undefined) s.selVertex = st.selVertex;
    if (st.selPred !== undefined) s.selPred = st.selPred;
    if (st.message) this.msg(st.message.text, !!st.message.error);
    this.sync();
    if (st.redraw || st.edit) this.renderer.request(!!st.edit && st.edit.type !== "live");
  }

  /**
   * Show a loaded item (the loader put nothing in the state yet).
   * @param {import("./types.js").Item} item @param {ImageBitmap} bitmap @param {number} index @param {number} t0
   * @param {import("./types.js").Item["preview"] | null} preview
   */
  show(item, bitmap, index, t0, preview) {
    const s = this.state, d = this.dom.root.dataset;
    showItem(s, item, bitmap, index, preview);
    this.undo.clear();
    this.activity.reset();
    this.renderer.expectFirstFrame(t0);
    this.viewport.fit();
    this.toolbar.renderTags();
    this.panel.renderLayers();
    this.panel.renderReview();
    this.updateQueue();
    this.panel.refresh();
    this.msg("");
    d.mediaId = String(item.media_id ?? "");
    d.imageSize = `${s.W}x${s.H}`;
    d.index = String(s.index);
    this.dom.fileText.textContent = item.file_name || "";
    this.sync();
    this.renderer.request(true);
  }

  // ---- actions (keys, buttons, panel)

  /** @param {Action} a @returns {void} */
  act(a) {
    const s = this.state;
    if (a.action !== "nudge") this.nudge.flush();
    switch (a.action) {
      case "label": return this.pickLabel(a.arg);
      case "tag": return this.editor.toggleTag(a.arg);
      case "tool": return this.setTool(a.arg);
      case "undo":
        if (drawingOf(s.mode)) return this.act({ action: "undo_point" });
        return this.afterUndo(this.editor.undoLast());
      case "redo": return this.afterUndo(this.editor.redoLast());
      case "duplicate": return this.run(copiesOf(s));
      case "select_all": return this.select(gtList(s).map((i) => i.key));
      case "copy_to_next": return this.copyToNext();
      case "help": return this.toggleHelp();
      case "picker": return this.toolbar.openPicker();
      case "escape":
        if (!this.dom.help.classList.contains("nbl-hidden")) return this.toggleHelp(false);
        s.selPred = null;
        return this.select([]);
      case "delete": return this.run(deleteVertexEdit(s) || { edit: { type: "delete", keys: selected(s).map((i) => i.key), name: "delete" } });
      case "fit": this.viewport.fit(); this.renderer.request(true); return;
      case "one_to_one": return this.viewport.oneToOne();
      case "zoom": return this.viewport.zoomCentre(a.arg);
      case "skip": return this.openSkip();
      case "skip_confirm": return this.confirmSkip();
      case "skip_cancel": return this.closeSkip();
      case "complete": return this.queue.complete();
      case "nudge": return this.nudge.by(a.arg[0], a.arg[1]);
      case "next": case "prev": return this.queue.nav(a.action);
      case "accept": return this.review.accept();
      case "reject": return this.review.reject();
      case "verdict": return this.review.verdict(a.arg);
      case "kp_pre_nv": case "kp_pre_skip": return this.runKey(TOOLS.keypoints, a.action);
      case "kp_not_visible": case "kp_skip": case "finish_drawing": case "cancel_drawing": case "undo_point":
        return this.runKey(toolFor(s), a.action);
      case "set_attr": return this.run(withAttr(s, a.arg.keys, a.arg.name, a.arg.value));
      case "show_gt": s.display.showGT = !!a.arg; this.renderer.request(true); return;
      case "show_run": if (a.arg.shown) s.display.hiddenRuns.delete(a.arg.run); else s.display.hiddenRuns.add(a.arg.run); this.sync(); this.renderer.request(true); return;
      case "threshold": s.display.threshold = a.arg; this.sync(); this.renderer.request(true); return;
      case "brightness": case "contrast": s.display[a.action] = a.arg; this.renderer.request(true); return;
      default: return;
    }
  }

  /** @param {import("./types.js").Tool} tool @param {string} action */
  runKey(tool, action) {
    const st = tool.key ? tool.key(this.state, action) : null;
    if (st) this.run(st);
  }

  /** @param {import("./undo.js").Command | null} cmd */
  afterUndo(cmd) {
    if (!cmd) return;
    const s = this.state;
    if (cmd.keys) {
      s.sel = new Set(cmd.keys.filter((k) => s.inst.has(k)));
      s.selVertex = null;
    }
    this.toolbar.renderTags();
    this.changed();
  }

  /** @param {import("./types.js").ToolName} t */
  setTool(t) {
    const s = this.state;
    if (!allowedTools(s).includes(t)) {
      const l = currentLabel(s);
      this.msg(`${TOOL_NAMES[t] || t} is not allowed for label "${l ? l.name : "?"}"`, true);
      return;
    }
    if (drawingOf(s.mode)) { s.mode = { type: "idle" }; s.pendingKp = null; }
    s.tool = t;
    this.toolbar.renderTools();
    this.sync();
    this.renderer.request();
  }

  /** Choose a label: the tool follows it, the selection's label changes (kinds it allows). @param {number} id */
  pickLabel(id) {
    const s = this.state;
    const l = s.labelById.get(id);
    if (!l) return;
    const sp = l.spatial || [];
    if (!sp.some((k) => SPATIAL_TOOLS.includes(k))) {
      if (sp.includes("tag")) this.editor.toggleTag(id);
      return;
    }
    if (drawingOf(s.mode) && s.labelId !== id) { s.mode = { type: "idle" }; s.pendingKp = null; }
    s.labelId = id;
    if (useLabel(s, id)) { this.model.set("recent_labels", [...s.recent]); this.model.save_changes(); }
    if (s.tool !== "select" && !sp.includes(s.tool)) s.tool = firstTool(l);
    const step = relabel(s, id);
    if (step) this.run(step);
    this.toolbar.renderLabels();
    this.toolbar.renderTools();
    this.sync();
    this.panel.refresh();
    this.renderer.request(true);
  }

  copyToNext() {
    const s = this.state;
    const sel = selected(s);
    if (!sel.length) { this.msg("Select instances to copy to the next image", true); return; }
    const refs = sel.map((i) => i.ref), media_id = s.item && s.item.media_id, next = (s.index ?? 0) + 1;
    this.session.saves.enqueue({
      build: () => ({ kind: "copy_to_next", media_id, instance_ids: refs.map((r) => r && r.id) }),
      onOk: (r) => { this.loader.forget(next); this.msg(`Copied ${r.count ?? refs.length} to the next image`); },
    });
  }

  toggleHelp(show = this.dom.help.classList.contains("nbl-hidden")) {
    this.dom.help.classList.toggle("nbl-hidden", !show);
    this.dom.root.dataset.help = show ? "1" : "0";
  }

  openSkip() {
    this.dom.dialog.classList.remove("nbl-hidden");
    this.dom.skipInput.value = "";
    this.dom.skipInput.focus();
  }

  closeSkip() {
    this.dom.dialog.classList.add("nbl-hidden");
    this.dom.root.focus({ preventScroll: true });
  }

  confirmSkip() {
    const reason = this.dom.skipInput.value.trim();
    this.closeSkip();
    this.queue.skip(reason);
  }
}
