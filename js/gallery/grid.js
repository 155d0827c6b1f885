// @ts-check
// Pure helpers of the gallery: grid layout, visible range, hit testing, selection and sorting.
// No DOM here, so `node --test` covers them.

/** @typedef {import("./types.js").Item} Item */
/** @typedef {import("./types.js").Pos} Pos */
/** @typedef {import("./types.js").Column} Column */
/** @typedef {import("./types.js").NumberColumn} NumberColumn */

/**
 * @typedef {object} Layout
 * @property {number} cols
 * @property {number} cellW cell pitch across, px (thumbnail + gap)
 * @property {number} cellH cell pitch down, px (thumbnail + caption + gap)
 * @property {number} rows
 * @property {number} height content height, px
 * @property {number} pad gap, px
 * @property {number} size thumbnail size, px
 * @property {number} caption caption height, px
 */

/**
 * Layout of a grid of square-ish cells in a viewport of width `width`.
 * @param {number} n items
 * @param {number} width viewport width, px
 * @param {number} size thumbnail size, px
 * @param {number} [caption]
 * @param {number} [pad]
 * @returns {Layout}
 */
export function layout(n, width, size, caption = 18, pad = 6) {
  const cellW = size + pad;
  const cols = Math.max(1, Math.floor(Math.max(0, width - pad) / cellW));
  const cellH = size + caption + pad;
  const rows = Math.ceil(n / cols);
  return { cols, cellW, cellH, rows, height: rows * cellH + pad, pad, size, caption };
}

/**
 * Item positions [first, last) whose rows intersect [scrollTop - margin rows, scrollTop + viewH + margin rows).
 * @param {Layout} L
 * @param {number} n
 * @param {number} scrollTop
 * @param {number} viewH
 * @param {number} [marginRows]
 * @returns {{first: Pos, last: Pos, firstRow: number}}
 */
export function visibleRange(L, n, scrollTop, viewH, marginRows = 0) {
  const r0 = Math.max(0, Math.floor(scrollTop / L.cellH) - marginRows);
  const r1 = Math.min(L.rows, Math.ceil((scrollTop + viewH) / L.cellH) + marginRows);
  return { first: Math.min(n, r0 * L.cols), last: Math.min(n, r1 * L.cols), firstRow: r0 };
}

/**
 * Position (in view order) under content point (x, y), or -1 in a gap / past the end.
 * @param {Layout} L
 * @param {number} n
 * @param {number} x
 * @param {number} y
 * @returns {Pos}
 */
export function hitTest(L, n, x, y) {
  const c = Math.floor((x - L.pad) / L.cellW);
  const r = Math.floor((y - L.pad) / L.cellH);
  if (c < 0 || c >= L.cols || r < 0) return -1;
  const lx = x - L.pad - c * L.cellW, ly = y - L.pad - r * L.cellH;
  if (lx > L.size || ly > L.size + L.caption) return -1;
  const p = r * L.cols + c;
  return p < n ? p : -1;
}

/**
 * Top-left corner of the cell at view position p, in content coordinates.
 * @param {Layout} L
 * @param {Pos} p
 */
export function cellOrigin(L, p) {
  return { x: L.pad + (p % L.cols) * L.cellW, y: L.pad + Math.floor(p / L.cols) * L.cellH };
}

/**
 * scrollTop that brings view position p fully into a viewport of height viewH (unchanged if visible).
 * @param {Layout} L
 * @param {Pos} p
 * @param {number} scrollTop
 * @param {number} viewH
 */
export function scrollToShow(L, p, scrollTop, viewH) {
  const top = cellOrigin(L, p).y - L.pad;
  const bottom = top + L.cellH + L.pad;
  if (top < scrollTop) return top;
  if (bottom > scrollTop + viewH) return bottom - viewH;
  return scrollTop;
}

/**
 * Selection over items (row indices of the item table), driven by view positions.
 * click: only this; ctrl/cmd-click: toggle; shift-click: the range from the anchor (ctrl+shift adds it).
 */
export class Selection {
  constructor() {
    /** @type {Set<Item>} */
    this.items = new Set();
    /** @type {Pos} */
    this.anchor = -1;
  }
  /**
   * @param {Pos} pos
   * @param {ArrayLike<Item>} order
   * @param {{shift?: boolean, toggle?: boolean}} [mods]
   */
  click(pos, order, { shift = false, toggle = false } = {}) {
    const item = order[pos];
    if (shift && this.anchor >= 0) {
      if (!toggle) this.items.clear();
      const [a, b] = this.anchor < pos ? [this.anchor, pos] : [pos, this.anchor];
      for (let p = a; p <= b; p++) this.items.add(order[p]);
      return;
    }
    if (toggle) {
      if (this.items.has(item)) this.items.delete(item); else this.items.add(item);
    } else {
      this.items.clear();
      this.items.add(item);
    }
    this.anchor = pos;
  }
  /** @param {ArrayLike<Item>} order */
  selectAll(order) {
    for (let p = 0; p < order.length; p++) this.items.add(order[p]);
  }
  clear() {
    this.items.clear();
    this.anchor = -1;
  }
  /** @param {Item} item */
  has(item) { return this.items.has(item); }
  get size() { return this.items.size; }
  /**
   * Selected items in view order.
   * @param {ArrayLike<Item>} order
   * @returns {Item[]}
   */
  inOrder(order) {
    if (this.items.size * 4 < order.length) {
      const rank = new Map();
      for (const it of this.items) rank.set(it, -1);
      for (let p = 0; p < order.length && rank.size; p++) if (rank.has(order[p])) rank.set(order[p], p);
      return [...this.items].sort((a, b) => rank.get(a) - rank.get(b));
    }
    const out = [];
    for (let p = 0; p < order.length; p++) if (this.items.has(order[p])) out.push(order[p]);
    return out;
  }
  /**
   * Re-anchor after the order changed (keep the same item as anchor).
   * @param {Uint32Array} oldOrder
   * @param {Uint32Array} newOrder
   */
  reorder(oldOrder, newOrder) {
    if (this.anchor < 0) return;
    const item = oldOrder[this.anchor];
    this.anchor = newOrder.indexOf(item);
  }
}

/**
 * Stable sort permutation of n rows by one column (TypedArray, array of strings, or {all()} column).
 * NaN and "" go last in both directions. Returns a Uint32Array of row indices.
 * @param {number} n
 * @param {Column | string[] | null | undefined} column
 * @param {boolean} [descending]
 * @returns {Uint32Array}
 */
export function sortOrder(n, column, descending = false) {
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  if (!column) return idx;
  const v = Array.isArray(column) ? column : "all" in column ? column.all() : column;
  const dir = descending ? -1 : 1;
  if (Array.isArray(v)) {
    const t = v; // text
    idx.sort((a, b) => {
      const x = t[a], y = t[b];
      if (x === y) return a - b;
      if (x === "") return 1;
      if (y === "") return -1;
      return (x < y ? -1 : 1) * dir || a - b;
    });
    return idx;
  }
  // numbers: NaNs last, then stable on the index
  const num = v;
  idx.sort((a, b) => {
    const x = num[a], y = num[b];
    const xn = x !== x, yn = y !== y; // NaN
    if (xn || yn) return xn === yn ? a - b : xn ? 1 : -1;
    return (x - y) * dir || a - b;
  });
  return idx;
}

/**
 * Start offset of each item's boxes in an `item`-sorted box table: Int32Array(n + 1).
 * @param {ArrayLike<number>} itemCol
 * @param {number} n
 */
export function boxOffsets(itemCol, n) {
  const off = new Int32Array(n + 1);
  for (let k = 0; k < itemCol.length; k++) off[itemCol[k] + 1]++;
  for (let i = 0; i < n; i++) off[i + 1] += off[i];
  return off;
}

/**
 * Fit a w×h image into a box×box square, centred: {x, y, w, h, scale}.
 * @param {number} w
 * @param {number} h
 * @param {number} box
 */
export function fit(w, h, box) {
  const s = Math.min(box / Math.max(1, w), box / Math.max(1, h));
  const dw = w * s, dh = h * s;
  return { x: (box - dw) / 2, y: (box - dh) / 2, w: dw, h: dh, scale: s };
}

/**
 * Truncate text with an ellipsis to fit `maxW` using a measure(text) function.
 * @param {string} text
 * @param {number} maxW
 * @param {(text: string) => number} measure
 */
export function ellipsize(text, maxW, measure) {
  if (measure(text) <= maxW) return text;
  let lo = 0, hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (measure(text.slice(0, mid) + "…") <= maxW) lo = mid; else hi = mid - 1;
  }
  return text.slice(0, lo) + "…";
}
