// Loading queue items: the preview first, then the full-resolution image; prefetch of the next item.
// Methods of Annotator (app.js mixes them into its prototype; `this` is the widget).
import { toBytes } from "../shared/rpc.js";
import { extentOf } from "./geometry.js";
import { deep } from "./common.js";

export const LoadingMethods = {
  /**
   * `load` one item. With `preview`, a large image comes as a small preview first (`item.preview`
   * describes it); the full display image is then fetched with `load_full` (see fetchFull).
   */
  async fetchItem(index, preview = false) {
    const r = await this.rpc.request(preview ? { kind: "load", index, preview: true } : { kind: "load", index }, 60000);
    if (!r.ok) throw new Error(r.error || "load refused");
    const bytes = toBytes(r.buffers && r.buffers[0]);
    if (!bytes || !bytes.length) throw new Error("the load reply carried no image bytes");
    const pv = r.item.preview || null;
    const blob = new Blob([bytes], { type: (pv ? pv.mime : r.item.mime) || "image/jpeg" });
    return { item: r.item, blob, preview: pv };
  },

  /** The full display image of queue item `index` (after a preview): {bitmap, scale}. */
  async fetchFull(index) {
    const r = await this.rpc.request({ kind: "load_full", index }, 60000);
    if (!r.ok) throw new Error(r.error || "load_full refused");
    const bytes = toBytes(r.buffers && r.buffers[0]);
    if (!bytes || !bytes.length) throw new Error("the load_full reply carried no image bytes");
    const bitmap = await createImageBitmap(new Blob([bytes], { type: r.mime || "image/jpeg" }));
    return { bitmap, scale: r.display_scale || bitmap.width / this.W };
  },

  /** Swap the preview for the full image when it is decoded; the view and the shapes stay as they are. */
  async loadFull(index, seq) {
    try {
      const t0 = performance.now();
      const { bitmap, scale } = await this.fetchFull(index);
      if (seq !== this.loadSeq || this.index !== index) { bitmap.close && bitmap.close(); return; }
      this.lowBitmap = this.bitmap;
      this.lowScale = this.displayScale;
      this.bitmap = bitmap;
      this.displayScale = scale;
      this.root.dataset.full = "1";
      this.root.dataset.fullMs = (performance.now() - t0).toFixed(1);
      this.requestDraw(true);
      setTimeout(() => this.prefetch(), 0);
    } catch (e) {
      if (seq === this.loadSeq) this.msg(`Could not load the full image: ${e.message}`, true);
    }
  },

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
  },

  async goTo(index, force = false) {
    if (index == null || index < 0) return;
    if (!force && this.item && this.index === index) return;
    if (!force && this.loadingIndex === index) return;
    this.loadingIndex = index;
    this.flushNudge();
    const seq = ++this.loadSeq;
    const t0 = performance.now();
    this.root.dataset.rendered = "0";
    this.root.dataset.full = "0";
    this.root.dataset.loading = String(index);
    try {
      let entry = null;
      const cached = this.cache.get(index);
      this.cache.delete(index);
      if (cached) entry = await cached.promise;
      if (!entry) entry = await this.fetchItem(index, true);
      if (seq !== this.loadSeq) return;
      const td = performance.now();
      const bitmap = entry.bitmap || (await createImageBitmap(entry.blob));
      this.root.dataset.decodeMs = entry.bitmap ? "0" : (performance.now() - td).toFixed(1);
      if (seq !== this.loadSeq) { bitmap.close && bitmap.close(); return; }
      this.setItem(entry.item, bitmap, index, t0, entry.preview);
      if (entry.preview) this.loadFull(this.index, seq);
      else this.root.dataset.full = "1";
    } catch (e) {
      if (seq === this.loadSeq) this.msg(`Could not load item ${index}: ${e.message}`, true);
    } finally {
      if (seq === this.loadSeq) this.loadingIndex = null;
    }
  },

  fromServer(i) {
    const inst = { ...deep(i), key: "k" + ++this.keySeq };
    inst.ref = { id: i.id, version: i.version };
    inst.attributes = inst.attributes || {};
    if (!inst.box && inst.points && inst.points.length) inst.box = extentOf(inst.points);
    return inst;
  },

  /** Show a loaded item; `preview` (item.preview) when `bitmap` is the preview of a large image. */
  setItem(item, bitmap, index, t0, preview = null) {
    if (this.bitmap && this.bitmap.close && this.bitmap !== bitmap) this.bitmap.close();
    if (this.lowBitmap && this.lowBitmap.close) this.lowBitmap.close();
    this.lowBitmap = null;
    this.cancelDrawing(false);
    this.drag = null;
    this.item = item;
    this.bitmap = bitmap;
    this.index = item.index ?? index;
    this.W = item.width || bitmap.width;
    this.H = item.height || bitmap.height;
    // display px per original px of the bitmap drawn: the preview's own scale until the full image is in
    this.displayScale = (preview && preview.display_scale) || item.display_scale || bitmap.width / this.W;
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
  },
};
