// @ts-check
// The thumbnail cache: ImageBitmaps by media id (null = the item has no image), filled by batched
// `thumbs` requests (a few in flight at once) and bounded in LRU order. It knows nothing of the grid:
// the caller says which ids it wants, most wanted first, and which ids must stay when it evicts.

/** A decoded thumbnail (node tests pass any {width, height, close()}). @typedef {ImageBitmap} Bitmap */
/** @typedef {(ids: number[]) => Promise<{ids: number[], offsets: number[], buffers: DataView[]}>} FetchThumbs */
/** @typedef {(bytes: Uint8Array) => Promise<Bitmap>} Decode */

import { toBytes } from "../shared/rpc.js";

export const BATCH = 48; // thumbnails per request
export const MAX_INFLIGHT = 2; // concurrent thumbnail requests
export const MAX_BITMAPS = 900; // LRU bound (~70 MB at 160 px)

/**
 * The browser's JPEG decoder. (The cast: a widget message buffer is never shared memory, which a Blob could not take.)
 * @type {Decode}
 */
export const decodeJpeg = (bytes) => createImageBitmap(new Blob([/** @type {Uint8Array<ArrayBuffer>} */ (bytes)], { type: "image/jpeg" }));

export class ThumbCache {
  /**
   * @param {object} o
   * @param {FetchThumbs} o.fetch asks the kernel for the JPEGs of some media ids
   * @param {Decode} [o.decode] JPEG bytes → bitmap
   * @param {() => void} [o.onLoad] a batch arrived (redraw)
   * @param {(e: Error) => void} [o.onError] a batch failed
   * @param {() => void} [o.onSettle] a request finished either way (a slot is free: ask for more)
   * @param {number} [o.batch]
   * @param {number} [o.maxInflight]
   * @param {number} [o.max] bitmaps kept; eviction goes down to 80 % of it
   */
  constructor({ fetch, decode = decodeJpeg, onLoad = () => {}, onError = () => {}, onSettle = () => {}, batch = BATCH,
    maxInflight = MAX_INFLIGHT, max = MAX_BITMAPS }) {
    this.fetch = fetch;
    this.decode = decode;
    this.onLoad = onLoad;
    this.onError = onError;
    this.onSettle = onSettle;
    this.batch = batch;
    this.maxInflight = maxInflight;
    this.max = max;
    /** media id → bitmap, or null when the item has no image; Map order is the LRU order. @type {Map<number, Bitmap | null>} */
    this.bitmaps = new Map();
    /** @type {Set<number>} */
    this.inflight = new Set();
    this.pending = 0; // requests in flight
    this.disposed = false;
  }

  get size() {
    return this.bitmaps.size;
  }

  /**
   * The bitmap of a media id: a bitmap, null (no image), or undefined (not loaded yet).
   * @param {number} mid
   */
  get(mid) {
    return this.bitmaps.get(mid);
  }

  /**
   * Whether a request may start now.
   */
  get idle() {
    return this.pending < this.maxInflight && !this.disposed;
  }

  /**
   * Of `ids` (most wanted first), the ones neither cached nor on their way, up to one batch.
   * @param {Iterable<number>} ids
   * @returns {number[]}
   */
  missing(ids) {
    /** @type {number[]} */
    const out = [];
    for (const mid of ids) {
      if (out.length >= this.batch) break;
      if (!this.bitmaps.has(mid) && !this.inflight.has(mid) && !out.includes(mid)) out.push(mid);
    }
    return out;
  }

  /**
   * Ask for the missing ones among `ids` if a request slot is free; `keep()` (the ids near the
   * screen) is consulted when the cache must shrink. Returns the request's promise, or null.
   * @param {Iterable<number>} ids
   * @param {() => Set<number>} keep
   */
  load(ids, keep) {
    if (!this.idle) return null;
    const want = this.missing(ids);
    if (!want.length) return null;
    for (const mid of want) this.inflight.add(mid);
    this.pending++;
    return this.fetch(want)
      .then((rep) => this.store(rep, keep))
      .catch((e) => this.onError(e instanceof Error ? e : new Error(String(e))))
      .finally(() => {
        for (const mid of want) this.inflight.delete(mid);
        this.pending--;
        this.onSettle();
      });
  }

  /**
   * Decode one `thumbs` reply into the cache: {ids, offsets} + one buffer of the JPEGs end to end.
   * @param {{ids: number[], offsets: number[], buffers: DataView[]}} rep
   * @param {() => Set<number>} keep
   */
  async store(rep, keep) {
    const buf = toBytes(rep.buffers[0]) || new Uint8Array(0);
    const offs = rep.offsets;
    await Promise.all(rep.ids.map(async (mid, k) => {
      const a = offs[k], b = offs[k + 1];
      /** @type {Bitmap | null} */
      let bm = null;
      if (b > a) {
        try {
          bm = await this.decode(buf.subarray(a, b));
        } catch (e) {
          bm = null; // an undecodable thumbnail is drawn as "no image"
        }
      }
      if (this.disposed) {
        if (bm) bm.close();
        return;
      }
      const old = this.bitmaps.get(mid);
      if (old && old !== bm) old.close();
      this.bitmaps.delete(mid);
      this.bitmaps.set(mid, bm);
    }));
    if (this.disposed) return;
    this.evict(keep);
    this.onLoad();
  }

  /**
   * Drop the oldest bitmaps not in `keep()` until 80 % of the bound is left (when over the bound).
   * @param {() => Set<number>} keep
   */
  evict(keep) {
    if (this.bitmaps.size <= this.max) return;
    const stay = keep();
    for (const [mid, bm] of this.bitmaps) {
      if (this.bitmaps.size <= this.max * 0.8) break;
      if (stay.has(mid)) continue;
      if (bm) bm.close();
      this.bitmaps.delete(mid);
    }
  }

  /** Forget every bitmap (the thumbnail size changed). Requests in flight still land. */
  clear() {
    for (const bm of this.bitmaps.values()) if (bm) bm.close();
    this.bitmaps.clear();
  }

  dispose() {
    this.disposed = true;
    this.clear();
  }
}
