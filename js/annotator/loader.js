// @ts-check
// The loader brings queue items in over rpc: the item and its preview first (drawn at once), then the
// full-resolution image swapped in without touching the view, then a prefetch of the next item.
import { toBytes } from "../shared/rpc.js";
import { fromServer } from "./instances.js";

/** @typedef {import("./types.js").Item} Item */
/** @typedef {{item: Item, blob: Blob, preview: Item["preview"] | null, bitmap?: ImageBitmap}} Entry */
/** @typedef {(msg: {kind: string, [k: string]: any}, timeoutMs?: number) => Promise<any>} Request */

const LOAD_TIMEOUT_MS = 60000;
const CACHE_ITEMS = 3;

/**
 * The bytes of a reply buffer as a Blob. Message buffers are plain ArrayBuffers (never shared), which
 * is what Blob wants; toBytes types them as ArrayBufferLike.
 * @param {Uint8Array} bytes @param {string} type
 */
const blobOf = (bytes, type) => new Blob([/** @type {Uint8Array<ArrayBuffer>} */ (bytes)], { type });

/** @param {ImageBitmap | null | undefined} b */
export const closeBitmap = (b) => { if (b && b.close) b.close(); };

/**
 * Put a loaded item into the state: its instances, predictions, tags and image; selection cleared.
 * @param {import("./state.js").State} s @param {Item} item @param {ImageBitmap} bitmap @param {number} index
 * @param {Item["preview"] | null} preview when `bitmap` is the preview of a large image
 */
export function showItem(s, item, bitmap, index, preview) {
  if (s.image.bitmap !== bitmap) closeBitmap(s.image.bitmap);
  closeBitmap(s.image.low);
  s.item = item;
  s.index = item.index ?? index;
  s.W = item.width || bitmap.width;
  s.H = item.height || bitmap.height;
  // display px per original px of the bitmap drawn: the preview's own scale until the full image is in
  s.image = { bitmap, scale: (preview && preview.display_scale) || item.display_scale || bitmap.width / s.W, low: null, lowScale: 0 };
  s.inst = new Map();
  s.tags = new Set();
  for (const w of item.instances || []) {
    const inst = fromServer(w);
    s.inst.set(inst.key, inst);
    if (inst.kind === "tag" && inst.label_id != null) s.tags.add(inst.label_id);
  }
  s.preds = (item.predictions || []).map((p) => fromServer(p, "p"));
  s.sel = new Set();
  s.selVertex = s.selPred = s.hover = s.hoverPred = null;
  s.mode = { type: "idle" };
  s.pendingKp = null;
}

export class Loader {
  /**
   * @param {object} o
   * @param {import("./state.js").State} o.state
   * @param {Request} o.request the session's rpc
   * @param {DOMStringMap} o.data the root's dataset (data-rendered, data-full, timings)
   * @param {() => number | null | undefined} o.total queue length
   * @param {() => void} o.beforeLoad before another item is loaded (commit what is open)
   * @param {(item: Item, bitmap: ImageBitmap, index: number, t0: number, preview: Item["preview"] | null) => void} o.show
   * @param {() => void} o.fullIn after the full image replaced the preview
   * @param {(text: string) => void} o.error
   */
  constructor({ state, request, data, total, beforeLoad, show, fullIn, error }) {
    this.state = state;
    this.request = request;
    this.data = data;
    this.total = total;
    this.beforeLoad = beforeLoad;
    this.show = show;
    this.fullIn = fullIn;
    this.error = error;
    /** @type {Map<number, {promise: Promise<Entry | null> | null}>} prefetched items */
    this.cache = new Map();
    this.seq = 0;
    /** @type {number | null} */
    this.loadingIndex = null;
    this.disposed = false;
  }

  /**
   * `load` one item. With `preview`, a large image comes as a small preview first (`item.preview`
   * describes it); the full display image is then fetched with `load_full`.
   * @param {number} index @returns {Promise<Entry>}
   */
  async fetchItem(index, preview = false) {
    const r = await this.request(preview ? { kind: "load", index, preview: true } : { kind: "load", index }, LOAD_TIMEOUT_MS);
    if (!r.ok) throw new Error(r.error || "load refused");
    const bytes = toBytes(r.buffers && r.buffers[0]);
    if (!bytes || !bytes.length) throw new Error("the load reply carried no image bytes");
    const pv = r.item.preview || null;
    const blob = blobOf(bytes, (pv ? pv.mime : r.item.mime) || "image/jpeg");
    return { item: r.item, blob, preview: pv };
  }

  /** The full display image of queue item `index` (after a preview). @param {number} index */
  async fetchFull(index) {
    const r = await this.request({ kind: "load_full", index }, LOAD_TIMEOUT_MS);
    if (!r.ok) throw new Error(r.error || "load_full refused");
    const bytes = toBytes(r.buffers && r.buffers[0]);
    if (!bytes || !bytes.length) throw new Error("the load_full reply carried no image bytes");
    const bitmap = await createImageBitmap(blobOf(bytes, r.mime || "image/jpeg"));
    return { bitmap, scale: /** @type {number} */ (r.display_scale || bitmap.width / this.state.W) };
  }

  /** Swap the preview for the full image when it is decoded. @param {number} index @param {number} seq */
  async loadFull(index, seq) {
    try {
      const t0 = performance.now();
      const { bitmap, scale } = await this.fetchFull(index);
      const s = this.state;
      if (this.disposed || seq !== this.seq || s.index !== index) { closeBitmap(bitmap); return; }
      s.image = { bitmap, scale, low: s.image.bitmap, lowScale: s.image.scale };
      this.data.full = "1";
      this.data.fullMs = (performance.now() - t0).toFixed(1);
      this.fullIn();
      setTimeout(() => this.prefetch(), 0);
    } catch (e) {
      if (seq === this.seq) this.error(`Could not load the full image: ${e instanceof Error ? e.message : e}`);
    }
  }

  /** Start loading the item after the current one (kept decoded for the next navigation). */
  prefetch() {
    if (this.disposed) return;
    const next = (this.state.index ?? 0) + 1;
    const total = this.total();
    if (total != null && next >= total) return;
    if (this.cache.has(next)) return;
    /** @type {{promise: Promise<Entry | null> | null}} */
    const entry = { promise: null };
    this.cache.set(next, entry);
    entry.promise = this.fetchItem(next)
      .then(async (e) => ({ ...e, bitmap: await createImageBitmap(e.blob) }))
      .catch(() => { this.cache.delete(next); return null; });
    while (this.cache.size > CACHE_ITEMS) {
      const k = /** @type {number} */ (this.cache.keys().next().value);
      this.cache.delete(k);
    }
  }

  /** After the first frame: prefetch once the full image is in. */
  firstFrame() {
    if (this.data.full === "1") setTimeout(() => this.prefetch(), 0);
  }

  /** Drop a prefetched item (it changed on the kernel, e.g. copy to next). @param {number} index */
  forget(index) {
    this.cache.delete(index);
  }

  /** Show queue item `index` (unless it is shown or loading already, or `force`). @param {number | null | undefined} index */
  async goTo(index, force = false) {
    const s = this.state;
    if (index == null || index < 0) return;
    if (!force && s.item && s.index === index) return;
    if (!force && this.loadingIndex === index) return;
    this.loadingIndex = index;
    this.beforeLoad();
    const seq = ++this.seq;
    const t0 = performance.now();
    this.data.rendered = "0";
    this.data.full = "0";
    this.data.loading = String(index);
    try {
      /** @type {Entry | null} */
      let entry = null;
      const cached = this.cache.get(index);
      this.cache.delete(index);
      if (cached && cached.promise) entry = await cached.promise;
      if (!entry) entry = await this.fetchItem(index, true);
      if (seq !== this.seq || this.disposed) return;
      const td = performance.now();
      const bitmap = entry.bitmap || (await createImageBitmap(entry.blob));
      this.data.decodeMs = entry.bitmap ? "0" : (performance.now() - td).toFixed(1);
      if (seq !== this.seq || this.disposed) { closeBitmap(bitmap); return; }
      this.show(entry.item, bitmap, index, t0, entry.preview);
      if (entry.preview) this.loadFull(/** @type {number} */ (s.index), seq);
      else this.data.full = "1";
    } catch (e) {
      if (seq === this.seq) this.error(`Could not load item ${index}: ${e instanceof Error ? e.message : e}`);
    } finally {
      if (seq === this.seq) this.loadingIndex = null;
    }
  }

  dispose() {
    this.disposed = true;
    const img = this.state.image;
    closeBitmap(img.bitmap);
    closeBitmap(img.low);
    for (const e of this.cache.values()) if (e.promise) e.promise.then((x) => x && closeBitmap(x.bitmap));
    this.cache.clear();
  }
}
