// @ts-check
// Drawing one frame of the grid on its canvas: the visible cells' thumbnails, the overlay boxes
// (one Path2D per status, stroked once), the selection and focus frames and the captions.

import { cellOrigin, fit, ellipsize, visibleRange } from "./grid.js";
import { STATUS_COLORS } from "./toolbar.js";

/** @typedef {import("./types.js").Items} Items */
/** @typedef {import("./types.js").Overlay} Overlay */
/** @typedef {import("./types.js").Item} Item */
/** @typedef {import("./types.js").Pos} Pos */
/** @typedef {ReturnType<typeof import("./grid.js").layout>} Layout */
/** @typedef {import("./thumbs.js").Bitmap} Bitmap */

const BACKGROUND = "#1e1e1e";
const CELL = "#2b2b2b";
const SELECTED_FILL = "rgba(67, 99, 216, 0.25)";
const SELECTED_EDGE = "#6f8cff";
const MISSED = 3; // the fn status is drawn dashed
const KEEP = "★ "; // before the name of the member its group keeps

/**
 * Everything a frame depends on.
 * @typedef {object} Frame
 * @property {Layout} L
 * @property {number} top scrollTop, px
 * @property {number} viewW
 * @property {number} viewH
 * @property {number} dpr
 * @property {Items} items
 * @property {Uint32Array} order view position → item row
 * @property {(row: Item) => boolean} isSelected
 * @property {Pos} focus
 * @property {(mid: number) => Bitmap | null | undefined} thumb
 * @property {Overlay} overlay
 * @property {Map<Item, string>} captions ellipsized file names (kept across frames; cleared on relayout)
 */

/**
 * Boxes of one item, scaled into its cell, added to the path of their status.
 * @param {Path2D[]} paths
 * @param {Items} items
 * @param {Item} it
 * @param {number} x cell origin on the canvas
 * @param {number} y
 * @param {number} size
 * @param {Overlay} ov
 */
function addBoxes(paths, items, it, x, y, size, ov) {
  const { boxes, off } = items;
  const f = fit(items.W[it], items.H[it], size);
  for (let k = off[it]; k < off[it + 1]; k++) {
    const src = boxes.src[k];
    if (src === 0 ? !ov.gt : !ov.runs[src - 1]) continue;
    const bx = x + f.x + boxes.x0[k] * f.scale, by = y + f.y + boxes.y0[k] * f.scale;
    paths[boxes.status[k]].rect(bx, by, (boxes.x1[k] - boxes.x0[k]) * f.scale, (boxes.y1[k] - boxes.y0[k]) * f.scale);
  }
}

/**
 * Draw the grid. Returns the positions drawn and the media ids on screen, in view order.
 * @param {CanvasRenderingContext2D} ctx
 * @param {Frame} fr
 * @returns {{first: Pos, last: Pos, visible: number[]}}
 */
export function paint(ctx, fr) {
  const { L, top, viewW, viewH, items, order, captions } = fr;
  ctx.setTransform(fr.dpr, 0, 0, fr.dpr, 0, 0);
  ctx.fillStyle = BACKGROUND;
  ctx.fillRect(0, 0, viewW, viewH);
  const r = visibleRange(L, items.n, top, viewH, 0);
  const paths = STATUS_COLORS.map(() => new Path2D());
  const size = L.size;
  ctx.font = "11px system-ui, sans-serif";
  ctx.textBaseline = "top";
  /** @type {number[]} */
  const visible = [];
  for (let p = r.first; p < r.last; p++) {
    const it = order[p];
    const o = cellOrigin(L, p);
    const x = o.x, y = o.y - top;
    const mid = items.mediaIds[it];
    visible.push(mid);
    ctx.fillStyle = CELL;
    ctx.fillRect(x, y, size, size);
    const bm = fr.thumb(mid);
    if (bm) {
      const f = fit(bm.width, bm.height, size);
      ctx.drawImage(bm, x + f.x, y + f.y, f.w, f.h);
    } else if (bm === null) {
      ctx.fillStyle = "#777";
      ctx.fillText("no image", x + 6, y + size / 2 - 6);
    }
    addBoxes(paths, items, it, x, y, size, fr.overlay);
    const kept = items.keep ? items.keep[it] === 1 : false;
    const color = items.color ? items.color.get(it) : "";
    if (color || kept) { // the color_by frame; the kept member's is thicker
      const w = kept ? 5 : 3;
      ctx.strokeStyle = color || "#fff";
      ctx.lineWidth = w;
      ctx.strokeRect(x + w / 2, y + w / 2, size - w, size - w);
    }
    if (fr.isSelected(it)) {
      ctx.fillStyle = SELECTED_FILL;
      ctx.fillRect(x, y, size, size + L.caption);
      ctx.strokeStyle = SELECTED_EDGE;
      ctx.lineWidth = 3;
      ctx.strokeRect(x + 1.5, y + 1.5, size - 3, size + L.caption - 3);
    }
    if (p === fr.focus) {
      ctx.strokeStyle = "#fff";
      ctx.lineWidth = 1;
      ctx.setLineDash([3, 3]);
      ctx.strokeRect(x - 2.5, y - 2.5, size + 5, size + L.caption + 5);
      ctx.setLineDash([]);
    }
    let cap = captions.get(it);
    if (cap === undefined) {
      cap = ellipsize((kept ? KEEP : "") + items.names.get(it), size - 4, (t) => ctx.measureText(t).width);
      captions.set(it, cap);
    }
    ctx.fillStyle = "#ddd";
    ctx.fillText(cap, x + 2, y + size + 3);
  }
  ctx.lineWidth = 1.5;
  for (let s = 0; s < paths.length; s++) {
    ctx.strokeStyle = STATUS_COLORS[s];
    if (s === MISSED) ctx.setLineDash([4, 3]);
    ctx.stroke(paths[s]);
    ctx.setLineDash([]);
  }
  if (captions.size > 5000) captions.clear();
  return { first: r.first, last: r.last, visible };
}
