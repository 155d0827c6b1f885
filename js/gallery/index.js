// nblabel gallery: a virtual-scrolling thumbnail grid with overlays (anywidget ESM).
//
// One canvas draws the visible rows; a transparent scroller on top of it owns the scrollbar, the
// wheel and the clicks, so the DOM has the same dozen elements for 10 or 100,000 items. The item
// table and boxes arrive once as Arrow IPC; thumbnails are asked for in batches as rows come into
// view and kept as ImageBitmaps (LRU). Sorting permutes an index array here (no round trip).

import { readArrowStream } from "./arrow.js";
import { layout, visibleRange, hitTest, cellOrigin, scrollToShow, Selection, sortOrder, boxOffsets, fit, ellipsize } from "./grid.js";
import { Rpc, toBytes } from "../shared/rpc.js";
import { CSS, STATUS_COLORS, h, toolbar } from "./toolbar.js";

const MARGIN_ROWS = 2; // thumbnails fetched ahead, above and below
const BATCH = 48; // thumbnails per request
const MAX_INFLIGHT = 2; // concurrent thumbnail requests
const MAX_BITMAPS = 900; // LRU bound (~70 MB at 160 px)

const rpcs = new WeakMap();
function rpcFor(model) {
  if (!rpcs.has(model)) rpcs.set(model, new Rpc(model, "gallery", { rejectOnError: true }));
  return rpcs.get(model);
}

function initialize({ model }) {
  rpcFor(model); // the message handler is registered once per model
  return () => {
    const r = rpcs.get(model);
    if (r) r.dispose();
    rpcs.delete(model);
  };
}

function parseItems(reply) {
  const items = readArrowStream(toBytes(reply.buffers[0]));
  const boxes = readArrowStream(toBytes(reply.buffers[1]));
  const c = items.columns;
  const n = items.numRows;
  return {
    n, items: c, boxes: boxes.columns, nBoxes: boxes.numRows, runs: reply.runs || [],
    columns: reply.columns || [], mediaIds: c.media_id, names: c.file_name, W: c.width, H: c.height,
    off: boxOffsets(boxes.columns.item, n),
  };
}

function render({ model, el }) {
  const rpc = rpcFor(model);
  const root = h("div", {
    cls: "nblabel-gallery",
    // data-lm-suppress-shortcuts: JupyterLab (Lumino 2) runs no keyboard shortcut from inside this element
    attrs: { tabindex: "0", "data-lm-suppress-shortcuts": "true", "data-rendered": "0", "data-count": "0", "data-first-visible": "0", "data-selected": "0" },
  });
  const canvas = h("canvas", { cls: "nbl-g-canvas" });
  const spacer = h("div", { cls: "nbl-g-spacer" });
  const scroller = h("div", { cls: "nbl-g-scroller" }, [spacer]);
  const stage = h("div", { cls: "nbl-g-stage" }, [canvas, scroller]);
  const info = h("div", { cls: "nbl-g-info" });
  const status = h("div", { cls: "nbl-g-status" });
  const ctx = canvas.getContext("2d");

  let data = null; // parsed tables
  let order = new Uint32Array(0); // view position -> item row
  const sel = new Selection();
  let focusPos = -1;
  let L = layout(0, 600, model.get("size") || 160);
  let viewW = 0, viewH = 0, dpr = 1;
  let raf = 0;
  let disposed = false;
  const thumbs = new Map(); // media id -> ImageBitmap | null (no image), in LRU order
  const inflight = new Set();
  let pending = 0;
  let lastFirst = -1;
  const captions = new Map(); // item -> ellipsized caption (cleared on resize)

  const say = (text, err = false) => {
    status.textContent = text;
    status.classList.toggle("err", err);
  };

  const bar = toolbar({
    onSort: (name, desc) => applySort(name ? (desc ? "-" : "") + name : "", true),
    onOverlay: () => schedule(),
    onTag: (labelId) => act({ action: "tag", label: labelId }, (r) => `tagged ${r.added} item(s)`),
    onDataset: (name) => {
      if (!name) return say("type a dataset name first", true);
      act({ action: "dataset", name }, (r) => `added ${r.added} item(s) to dataset "${name}"`);
    },
    onMark: () => act({ action: "mark" }, (r) => `marked ${r.count} item(s) for review`),
  });
  root.append(h("style", { text: CSS }), bar.el, stage, info, status);
  el.appendChild(root);

  const selectedIds = () => sel.inOrder(order).map((it) => data.mediaIds[it]);

  function act(msg, done) {
    if (!data || !sel.size) return;
    say("working…");
    rpc.request({ kind: "action", ...msg, ids: selectedIds() }, 120000)
      .then((r) => say(done(r)))
      .catch((e) => say(String(e.message || e), true));
  }

  function sendSelection() {
    root.dataset.selected = String(sel.size);
    bar.setSelected(sel.size);
    rpc.request({ kind: "select", ids: data ? selectedIds() : [] }).catch((e) => say(String(e.message || e), true));
  }

  // -- sorting (on the typed arrays, here) ---------------------------------------------------------
  function sortable() {
    if (!data) return [];
    const cols = ["file_name", "width", "height", "n_gt", ...data.columns];
    for (const r of data.runs) cols.push(`tp:${r}`, `fp:${r}`, `fn:${r}`);
    return [...new Set(cols)].filter((c) => c in data.items);
  }
  let currentSort = "";
  function applySort(spec, fromUser) {
    if (!data) return;
    currentSort = spec;
    const name = (spec || "").replace(/^-/, "");
    const old = order;
    order = sortOrder(data.n, name ? data.items[name] : null, spec.startsWith("-"));
    sel.reorder(old, order);
    lastFirst = -1; // the visible ids change even if the first position does not
    if (focusPos >= 0) focusPos = order.indexOf(old[focusPos]);
    if (fromUser) {
      model.set("sort", spec);
      model.save_changes();
    }
    bar.setColumns(sortable(), spec);
    schedule();
  }

  // -- drawing --------------------------------------------------------------------------------------
  function resize() {
    viewW = scroller.clientWidth;
    viewH = scroller.clientHeight;
    dpr = window.devicePixelRatio || 1;
    canvas.width = Math.max(1, Math.round(viewW * dpr));
    canvas.height = Math.max(1, Math.round(viewH * dpr));
    canvas.style.width = `${viewW}px`;
    canvas.style.height = `${viewH}px`;
    relayout();
  }
  function relayout() {
    const oldTop = data && L.cols ? Math.floor(scroller.scrollTop / L.cellH) * L.cols : 0;
    L = layout(data ? data.n : 0, viewW || 600, model.get("size") || 160);
    spacer.style.height = `${L.height}px`;
    if (data) scroller.scrollTop = Math.floor(oldTop / L.cols) * L.cellH; // keep the first item in view
    captions.clear();
    schedule();
  }
  function schedule() {
    if (!raf && !disposed) raf = requestAnimationFrame(draw);
  }

  function draw() {
    raf = 0;
    if (disposed) return;
    const t0 = performance.now();
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#1e1e1e";
    ctx.fillRect(0, 0, viewW, viewH);
    if (!data) return;
    const top = scroller.scrollTop;
    const r = visibleRange(L, data.n, top, viewH, 0);
    const ov = bar.overlays();
    const paths = STATUS_COLORS.map(() => new Path2D());
    const size = L.size;
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "top";
    const { mediaIds, names, W, H, off, boxes } = data;
    const visible = [];
    for (let p = r.first; p < r.last; p++) {
      const it = order[p];
      const o = cellOrigin(L, p);
      const x = o.x, y = o.y - top;
      const mid = mediaIds[it];
      visible.push(mid);
      ctx.fillStyle = "#2b2b2b";
      ctx.fillRect(x, y, size, size);
      const bm = thumbs.get(mid);
      if (bm) {
        const f = fit(bm.width, bm.height, size);
        ctx.drawImage(bm, x + f.x, y + f.y, f.w, f.h);
      } else if (bm === null) {
        ctx.fillStyle = "#777";
        ctx.fillText("no image", x + 6, y + size / 2 - 6);
      }
      const f = fit(W[it], H[it], size);
      for (let k = off[it]; k < off[it + 1]; k++) {
        const src = boxes.src[k];
        if (src === 0 ? !ov.gt : !ov.runs[src - 1]) continue;
        const bx = x + f.x + boxes.x0[k] * f.scale, by = y + f.y + boxes.y0[k] * f.scale;
        paths[boxes.status[k]].rect(bx, by, (boxes.x1[k] - boxes.x0[k]) * f.scale, (boxes.y1[k] - boxes.y0[k]) * f.scale);
      }
      if (sel.has(it)) {
        ctx.fillStyle = "rgba(67, 99, 216, 0.25)";
        ctx.fillRect(x, y, size, size + L.caption);
        ctx.strokeStyle = "#6f8cff";
        ctx.lineWidth = 3;
        ctx.strokeRect(x + 1.5, y + 1.5, size - 3, size + L.caption - 3);
      }
      if (p === focusPos) {
        ctx.strokeStyle = "#fff";
        ctx.lineWidth = 1;
        ctx.setLineDash([3, 3]);
        ctx.strokeRect(x - 2.5, y - 2.5, size + 5, size + L.caption + 5);
        ctx.setLineDash([]);
      }
      let cap = captions.get(it);
      if (cap === undefined) {
        cap = ellipsize(names.get(it), size - 4, (t) => ctx.measureText(t).width);
        captions.set(it, cap);
      }
      ctx.fillStyle = "#ddd";
      ctx.fillText(cap, x + 2, y + size + 3);
    }
    ctx.lineWidth = 1.5;
    for (let s = 0; s < paths.length; s++) {
      ctx.strokeStyle = STATUS_COLORS[s];
      if (s === 3) ctx.setLineDash([4, 3]);
      ctx.stroke(paths[s]);
      ctx.setLineDash([]);
    }
    if (captions.size > 5000) captions.clear();
    if (r.first !== lastFirst) {
      lastFirst = r.first;
      root.dataset.firstVisible = String(r.first);
      root.dataset.visibleIds = visible.join(",");
    }
    root.dataset.cells = String(r.last - r.first);
    root.dataset.rendered = "1";
    pump();
    if (window.__nblGalleryStats) window.__nblGalleryStats.push(performance.now() - t0); // benchmarks only
  }

  // -- thumbnails -----------------------------------------------------------------------------------
  function wanted() {
    if (!data) return [];
    const top = scroller.scrollTop;
    const vis = visibleRange(L, data.n, top, viewH, 0);
    const near = visibleRange(L, data.n, top, viewH, MARGIN_ROWS);
    const out = [];
    const add = (a, b) => {
      for (let p = a; p < b && out.length < BATCH; p++) {
        const mid = data.mediaIds[order[p]];
        if (!thumbs.has(mid) && !inflight.has(mid)) out.push(mid);
      }
    };
    add(vis.first, vis.last); // what is on screen first, then the margin below and above
    add(vis.last, near.last);
    add(near.first, vis.first);
    return out;
  }
  function pump() {
    if (pending >= MAX_INFLIGHT || disposed || fast) return;
    const ids = wanted();
    if (!ids.length) return;
    for (const id of ids) inflight.add(id);
    pending++;
    rpc.request({ kind: "thumbs", ids })
      .then(async (rep) => {
        const buf = toBytes(rep.buffers[0]);
        const offs = rep.offsets;
        await Promise.all(rep.ids.map(async (mid, k) => {
          const a = offs[k], b = offs[k + 1];
          let bm = null;
          if (b > a) {
            try {
              bm = await createImageBitmap(new Blob([buf.subarray(a, b)], { type: "image/jpeg" }));
            } catch (e) {
              bm = null;
            }
          }
          if (disposed) { if (bm) bm.close(); return; }
          thumbs.set(mid, bm);
        }));
        evict();
        root.dataset.thumbs = String(thumbs.size);
        schedule();
      })
      .catch((e) => say(String(e.message || e), true))
      .finally(() => {
        for (const id of ids) inflight.delete(id);
        pending--;
        pump();
      });
  }
  function evict() {
    if (thumbs.size <= MAX_BITMAPS || !data) return;
    const near = visibleRange(L, data.n, scroller.scrollTop, viewH, MARGIN_ROWS);
    const keep = new Set();
    for (let p = near.first; p < near.last; p++) keep.add(data.mediaIds[order[p]]);
    for (const [mid, bm] of thumbs) {
      if (thumbs.size <= MAX_BITMAPS * 0.8) break;
      if (keep.has(mid)) continue;
      if (bm) bm.close();
      thumbs.delete(mid);
    }
  }

  // -- pointer and keyboard -------------------------------------------------------------------------
  function posAt(e) {
    const b = scroller.getBoundingClientRect();
    return data ? hitTest(L, data.n, e.clientX - b.left, e.clientY - b.top + scroller.scrollTop) : -1;
  }
  function showInfo(p) {
    if (!data || p < 0) return;
    const it = order[p];
    const parts = [names(it), `${data.W[it]}×${data.H[it]}`];
    for (const c of data.columns) {
      if (c === "file_name" || c === "width" || c === "height" || !(c in data.items)) continue;
      const col = data.items[c];
      parts.push(`${c}: ${typeof col.get === "function" ? col.get(it) : col[it]}`);
    }
    for (const r of data.runs) parts.push(`${r}: tp ${data.items[`tp:${r}`][it]} fp ${data.items[`fp:${r}`][it]} fn ${data.items[`fn:${r}`][it]}`);
    info.textContent = parts.join("   ");
  }
  const names = (it) => data.names.get(it);

  // While the grid flies past (scrollbar drag, fling), thumbnails of rows on screen for a frame or two
  // are not worth fetching and decoding: wait until the scroll slows down, then ask for what stays.
  let lastTop = 0, lastT = 0, fast = false, settle = 0;
  scroller.addEventListener("scroll", () => {
    const now = performance.now(), top = scroller.scrollTop;
    const speed = Math.abs(top - lastTop) / Math.max(1, now - lastT); // px per ms
    lastTop = top;
    lastT = now;
    if (speed > Math.max(1, viewH) / 150) { // more than a screen in 150 ms
      fast = true;
      clearTimeout(settle);
      settle = setTimeout(() => { fast = false; pump(); }, 120);
    }
    schedule();
  }, { passive: true });
  scroller.addEventListener("pointerdown", (e) => {
    e.preventDefault(); // no text selection / native drag; keep keyboard focus on the grid
    root.focus({ preventScroll: true });
  });
  scroller.addEventListener("click", (e) => {
    const p = posAt(e);
    if (p < 0) return;
    sel.click(p, order, { shift: e.shiftKey, toggle: e.ctrlKey || e.metaKey });
    focusPos = p;
    showInfo(p);
    sendSelection();
    schedule();
  });
  scroller.addEventListener("dblclick", (e) => {
    const p = posAt(e);
    if (p >= 0) openItem(p);
  });
  let hoverRaf = 0, hoverEvt = null;
  scroller.addEventListener("mousemove", (e) => {
    hoverEvt = e;
    if (!hoverRaf) hoverRaf = requestAnimationFrame(() => { hoverRaf = 0; showInfo(posAt(hoverEvt)); });
  });

  function openItem(p) {
    const mid = data.mediaIds[order[p]];
    rpc.request({ kind: "open", media_id: mid }).catch((e) => say(String(e.message || e), true));
  }
  function moveFocus(p, e) {
    if (!data || !data.n) return;
    p = Math.max(0, Math.min(data.n - 1, p));
    if (e.shiftKey) {
      if (sel.anchor < 0) sel.anchor = Math.max(0, focusPos);
      sel.click(p, order, { shift: true, toggle: e.ctrlKey || e.metaKey });
      sendSelection();
    }
    focusPos = p;
    scroller.scrollTop = scrollToShow(L, p, scroller.scrollTop, viewH);
    showInfo(p);
    schedule();
  }
  const stop = (e) => e.stopPropagation();
  root.addEventListener("keydown", (e) => {
    e.stopPropagation(); // never let JupyterLab act on keys typed in the gallery
    const t = e.target;
    if (t !== root && t !== scroller) return; // typing in the toolbar
    if (!data) return;
    const rowsPerPage = Math.max(1, Math.floor(viewH / L.cellH));
    const cur = focusPos < 0 ? 0 : focusPos;
    const k = e.key;
    if (k === "ArrowRight") moveFocus(cur + 1, e);
    else if (k === "ArrowLeft") moveFocus(cur - 1, e);
    else if (k === "ArrowDown") moveFocus(cur + L.cols, e);
    else if (k === "ArrowUp") moveFocus(cur - L.cols, e);
    else if (k === "PageDown") moveFocus(cur + L.cols * rowsPerPage, e);
    else if (k === "PageUp") moveFocus(cur - L.cols * rowsPerPage, e);
    else if (k === "Home") moveFocus(0, e);
    else if (k === "End") moveFocus(data.n - 1, e);
    else if (k === " " && focusPos >= 0) {
      sel.click(focusPos, order, { toggle: true });
      sendSelection();
      schedule();
    } else if (k === "Enter" && focusPos >= 0) openItem(focusPos);
    else if (k === "Escape") {
      sel.clear();
      sendSelection();
      schedule();
    } else if ((k === "a" || k === "A") && (e.ctrlKey || e.metaKey)) {
      sel.selectAll(order);
      sendSelection();
      schedule();
    } else return;
    e.preventDefault();
  });
  root.addEventListener("keyup", stop);
  root.addEventListener("keypress", stop);

  // -- data -----------------------------------------------------------------------------------------
  function load() {
    say("loading…");
    rpc.request({ kind: "items" }, 300000)
      .then((reply) => {
        if (disposed) return;
        data = parseItems(reply);
        order = sortOrder(data.n, null);
        sel.clear();
        focusPos = -1;
        lastFirst = -1;
        root.dataset.count = String(data.n);
        root.dataset.selected = "0";
        bar.setSelected(0);
        bar.setRuns((model.get("runs") || []).length ? model.get("runs") : data.runs.map((name) => ({ name })));
        bar.setLabels(model.get("labels") || []);
        say(`${data.n.toLocaleString()} items, ${data.nBoxes.toLocaleString()} boxes`);
        applySort(model.get("sort") || "", false);
        relayout();
      })
      .catch((e) => say(String(e.message || e), true));
  }
  const onVersion = () => load();
  const onSort = () => { if ((model.get("sort") || "") !== currentSort) applySort(model.get("sort") || "", false); };
  const onSize = () => {
    for (const bm of thumbs.values()) if (bm) bm.close();
    thumbs.clear();
    relayout();
  };
  model.on("change:items_version", onVersion);
  model.on("change:sort", onSort);
  model.on("change:size", onSize);
  const ro = new ResizeObserver(() => resize());
  ro.observe(scroller);
  resize();
  load();

  return () => {
    disposed = true;
    if (raf) cancelAnimationFrame(raf);
    clearTimeout(settle);
    ro.disconnect();
    model.off("change:items_version", onVersion);
    model.off("change:sort", onSort);
    model.off("change:size", onSize);
    for (const bm of thumbs.values()) if (bm) bm.close();
    thumbs.clear();
  };
}

export default { initialize, render };
