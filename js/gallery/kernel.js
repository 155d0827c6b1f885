// @ts-check
// The gallery's requests to the kernel (the table in widgets/_gallery.py's docstring), one function
// per kind over the shared client, with the reply shapes typed.

import { Rpc } from "../shared/rpc.js";

/** @typedef {import("../shared/rpc.js").RpcModel} RpcModel */
/** @typedef {import("../shared/rpc.js").RpcReply} RpcReply */
/** @typedef {RpcReply & {ids: number[], offsets: number[]}} ThumbsReply */
/** @typedef {RpcReply & {n: number, runs: string[], columns: string[], version: number}} ItemsReply */
/**
 * @typedef {{action: "tag", label: number} | {action: "dataset", name: string} | {action: "mark", stage?: string}} Action
 */

const ITEMS_TIMEOUT = 300000; // the first build of 100k rows' tables takes a while
const ACTION_TIMEOUT = 120000;

/** @typedef {ReturnType<typeof galleryKernel>} GalleryKernel */

/**
 * @param {Rpc} rpc a client made with `rejectOnError: true` (an `ok: false` reply rejects)
 */
export function galleryKernel(rpc) {
  return {
    /** The item and box tables (two Arrow IPC buffers). */
    items: () => /** @type {Promise<ItemsReply>} */ (rpc.request({ kind: "items" }, ITEMS_TIMEOUT)),
    /**
     * Thumbnails of some media, end to end in one buffer.
     * @param {number[]} ids
     */
    thumbs: (ids) => /** @type {Promise<ThumbsReply>} */ (rpc.request({ kind: "thumbs", ids })),
    /**
     * Tell Python what is selected (`Gallery.selected`).
     * @param {number[]} ids
     */
    select: (ids) => rpc.request({ kind: "select", ids }),
    /**
     * Open one item (the `on_open` callbacks, the annotator).
     * @param {number} mediaId
     */
    open: (mediaId) => rpc.request({ kind: "open", media_id: mediaId }),
    /**
     * A bulk action on media ids; resolves with the reply's counts.
     * @param {Action} action
     * @param {number[]} ids
     */
    action: (action, ids) => rpc.request({ kind: "action", ...action, ids }, ACTION_TIMEOUT),
  };
}

/** @param {RpcModel} model */
export function galleryRpc(model) {
  return new Rpc(model, "gallery", { rejectOnError: true });
}
