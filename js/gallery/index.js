// @ts-check
// nblabel gallery: a virtual-scrolling thumbnail grid with overlays (anywidget ESM).
//
// The item table and boxes arrive once as Arrow IPC (tables.js); thumbnails are asked for in batches
// as rows come into view and kept as ImageBitmaps (thumbs.js). Sorting permutes an index array here,
// with no round trip (state.js). This module only composes the parts: the message client is made
// once per model in `initialize`, and `render` wires one view to it.

import { h } from "../shared/dom.js";
import { galleryKernel, galleryRpc } from "./kernel.js";
import { parseItems } from "./tables.js";
import { ThumbCache } from "./thumbs.js";
import { GridState } from "./state.js";
import { GridView } from "./view.js";
import { bindInput } from "./input.js";
import { paint } from "./paint.js";
import { sortable, infoText } from "./columns.js";
import { groupStarts } from "./grid.js";
import { CSS, toolbar } from "./toolbar.js";

/** @typedef {import("./types.js").Model} Model */
/** @typedef {import("./types.js").Items} Items */
/** @typedef {import("./types.js").Pos} Pos */
/** @typedef {import("../shared/rpc.js").Rpc} Rpc */
/** @typedef {import("../shared/rpc.js").RpcModel} RpcModel */

const MARGIN_ROWS = 2; // thumbnails fetched ahead, above and below

/** @type {WeakMap<RpcModel, Rpc>} */
const clients = new WeakMap();

/** @param {RpcModel} model */
function clientFor(model) {
  let c = clients.get(model);
  if (!c) {
    c = galleryRpc(model);
    clients.set(model, c);
  }
  return c;
}

/** @type {import("@anywidget/types").Initialize<Model>} */
function initialize({ model }) {
  clientFor(model); // the message handler is registered once per model
  return () => {
    const c = clients.get(model);
    if (c) c.dispose();
    clients.delete(model);
  };
}

/** @param {unknown} e */
const message = (e) => String((e instanceof Error && e.message) || e);

/** @type {import("@anywidget/types").Render<Model>} */
function render({ model, el }) {
  const kernel = galleryKernel(clientFor(model));
  const state = new GridState();
  /** @type {Items | null} */
  let items = null;
  let lastFirst = -1;

  const root = h("div", {
    cls: "nblabel-gallery",
    // data-lm-suppress-shortcuts: JupyterLab (Lumino 2) runs no keyboard shortcut from inside this element
    attrs: { tabindex: "0", "data-lm-suppress-shortcuts": "true", "data-rendered": "0", "data-count": "0", "data-first-visible": "0", "data-selected": "0" },
  });
  const info = h("div", { cls: "nbl-g-info" });
  const status = h("div", { cls: "nbl-g-status" });
  /** @param {string} text @param {boolean} [err] */
  const say = (text, err = false) => {
    status.textContent = text;
    status.classList.toggle("err", err);
  };
  /** @param {unknown} e */
  const fail = (e) => say(message(e), true);

  const view = new GridView({ size: model.get("size") || 160, onFrame: frame, onSettle: pump });
  const thumbs = new ThumbCache({
    fetch: kernel.thumbs,
    onLoad: () => {
      root.dataset.thumbs = String(thumbs.size);
      view.schedule();
    },
    onError: fail,
    onSettle: pump,
  });
  const bar = toolbar({
    onSort: (name, desc) => applySort(name ? (desc ? "-" : "") + name : "", true),
    onOverlay: () => view.schedule(),
    onTag: (labelId) => act({ action: "tag", label: labelId }, (r) => `tagged ${r.added} item(s)`),
    onDataset: (name) => {
      if (!name) return say("type a dataset name first", true);
      act({ action: "dataset", name }, (r) => `added ${r.added} item(s) to dataset "${name}"`);
    },
    onMark: () => act({ action: "mark" }, (r) => `marked ${r.count} item(s) for review`),
  });
  root.append(h("style", { text: CSS }), bar.el, view.el, info, status);
  el.appendChild(root);

  // -- the kernel ----------------------------------------------------------------------------------
  /**
   * @param {import("./kernel.js").Action} action
   * @param {(reply: import("../shared/rpc.js").RpcReply) => string} done
   */
  function act(action, done) {
    if (!items || !state.selectedCount) return;
    say("working…");
    kernel.action(action, state.selectedIds(items)).then((r) => say(done(r))).catch(fail);
  }
  function sendSelection() {
    root.dataset.selected = String(state.selectedCount);
    bar.setSelected(state.selectedCount);
    kernel.select(items ? state.selectedIds(items) : []).catch(fail);
  }
  /** @param {Pos} p */
  function openItem(p) {
    if (items) kernel.open(items.mediaIds[state.item(p)]).catch(fail);
  }

  // -- thumbnails: what is on screen first, then the margin below, then above --------------------------
  function* wanted() {
    if (!items) return;
    const vis = view.range(0), near = view.range(MARGIN_ROWS);
    for (const [a, b] of [[vis.first, vis.last], [vis.last, near.last], [near.first, vis.first]]) {
      for (let p = a; p < b; p++) yield items.mediaIds[state.item(p)];
    }
  }
  function near() {
    const keep = new Set();
    if (!items) return keep;
    const r = view.range(MARGIN_ROWS);
    for (let p = r.first; p < r.last; p++) keep.add(items.mediaIds[state.item(p)]);
    return keep;
  }
  function pump() {
    if (items && !view.fast) thumbs.load(wanted(), near);
  }

  // -- drawing ---------------------------------------------------------------------------------------
  function frame() {
    const t0 = performance.now();
    if (!items) {
      view.ctx.setTransform(view.dpr, 0, 0, view.dpr, 0, 0);
      view.ctx.fillStyle = "#1e1e1e";
      view.ctx.fillRect(0, 0, view.viewW, view.viewH);
      return;
    }
    const r = paint(view.ctx, {
      L: view.L, top: view.top, viewW: view.viewW, viewH: view.viewH, dpr: view.dpr, items, order: state.order,
      isSelected: (row) => state.isSelected(row), focus: state.focus, thumb: (mid) => thumbs.get(mid),
      overlay: bar.overlays(), captions: view.captions,
    });
    if (r.first !== lastFirst) {
      lastFirst = r.first;
      root.dataset.firstVisible = String(r.first);
      root.dataset.visibleIds = r.visible.join(",");
    }
    root.dataset.cells = String(r.last - r.first);
    root.dataset.rendered = "1";
    pump();
    const stats = /** @type {Window & {__nblGalleryStats?: number[]}} */ (window).__nblGalleryStats;
    if (stats) stats.push(performance.now() - t0); // benchmarks only
  }

  // -- sorting, selection and focus --------------------------------------------------------------------
  /** @param {string} spec @param {boolean} fromUser */
  function applySort(spec, fromUser) {
    if (!items) return;
    state.sortBy(items, spec);
    lastFirst = -1; // the visible ids change even if the first position does not
    const starts = items.group ? groupStarts(state.order, items.group) : null; // each group on new rows
    if (starts || view.starts) view.setStarts(starts);
    if (fromUser) {
      model.set("sort", state.sort);
      model.save_changes();
    }
    bar.setColumns(sortable(items), state.sort);
    view.schedule();
  }
  /** @param {Pos} p */
  function showInfo(p) {
    if (items && p >= 0) info.textContent = infoText(items, state.item(p));
  }
  const unbind = bindInput(root, view, {
    grid: () => (items ? { focus: state.focus, n: items.n } : null),
    click: (p, mods) => {
      state.click(p, mods);
      showInfo(p);
      sendSelection();
      view.schedule();
    },
    open: openItem,
    hover: showInfo,
    key: (c, mods) => {
      if (!items) return;
      if ("move" in c) {
        if (!items.n) return;
        const { focus, selected } = state.moveFocus(c.move, mods);
        if (selected) sendSelection();
        view.show(focus);
        showInfo(focus);
      } else if (c.command === "open") {
        openItem(state.focus);
        return;
      } else {
        if (c.command === "toggle") state.toggleFocused();
        else if (c.command === "clear") state.clear();
        else state.selectAll();
        sendSelection();
      }
      view.schedule();
    },
  });

  // -- data --------------------------------------------------------------------------------------------
  let disposed = false;
  function load() {
    say("loading…");
    kernel.items()
      .then((reply) => {
        if (disposed) return;
        const next = parseItems(reply);
        items = next;
        state.reset(next.n);
        lastFirst = -1;
        root.dataset.count = String(next.n);
        root.dataset.selected = "0";
        bar.setSelected(0);
        const runs = model.get("runs") || [];
        bar.setRuns(runs.length ? runs : next.runs.map((name) => ({ name })));
        bar.setLabels(model.get("labels") || []);
        bar.setLegend(next.colorBy, next.legend);
        root.dataset.groups = next.group ? String(new Set(next.group).size) : "0";
        say(`${next.n.toLocaleString()} items, ${next.nBoxes.toLocaleString()} boxes`);
        applySort(model.get("sort") || "", false);
        view.relayout(next.n, model.get("size") || 160);
      })
      .catch(fail);
  }
  const onVersion = () => load();
  const onSort = () => {
    if ((model.get("sort") || "") !== state.sort) applySort(model.get("sort") || "", false);
  };
  const onSize = () => {
    thumbs.clear();
    view.relayout(items ? items.n : 0, model.get("size") || 160);
  };
  model.on("change:items_version", onVersion);
  model.on("change:sort", onSort);
  model.on("change:size", onSize);
  view.resize();
  load();

  return () => {
    disposed = true;
    view.dispose();
    unbind();
    model.off("change:items_version", onVersion);
    model.off("change:sort", onSort);
    model.off("change:size", onSize);
    thumbs.dispose();
  };
}

export default { initialize, render };
