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
 * @property {Int32Array | null} slot grid cell of each view position when groups start new rows (null: slot = position)
 */

/**
 * Layout of a grid of square-ish cells in a viewport of width `width`. With `starts` (one flag per
 * view position, e.g. from `groupStarts`), a flagged position begins a new row: its group's
 * members sit side by side and the rest of the previous row stays empty.
 * @param {number} n items
 * @param {number} width viewport width, px
 * @param {number} size thumbnail size, px
 * @param {number} [caption]
 * @param {number} [pad]
 * @param {Uint8Array | null} [starts] row breaks by view position (ignored unless of length n)
 * @returns {Layout}
 */
export function layout(n, width, size, caption = 18, pad = 6, starts = null) {
  const cellW = size + pad;
  const cols = Math.max(1, Math.floor(Math.max(0, width - pad) / cellW));
  const cellH = size + caption + pad;
  let cells = n;
  /** @type {Int32Array | null} */
  let slot = null;
  if (starts && starts.length === n && n > 0) {
    slot = new Int32Array(n);
    let s = 0;
    for (let p = 0; p < n; p++) {
      if (p > 0 && starts[p] && s % cols !== 0) s += cols - (s % cols);
      slot[p] = s++;
    }
    cells = s;
  }
  const rows = Math.ceil(cells / cols);
  return { cols, cellW, cellH, rows, height: rows * cellH + pad, pad, size, caption, slot };
}

/**
 * Row breaks of a view order: 1 where the group of the item shown differs from the one before.
 * @param {ArrayLike<Item>} order view position → item row
 * @param {NumberColumn} group group of each item row
 * @returns {Uint8Array}
 */
export function groupStarts(order, group) {
  const out = new Uint8Array(order.length);
  for (let p = 1; p < order.length; p++) out[p] = group[order[p]] !== group[order[p - 1]] ? 1 : 0;
  return out;
}

/**
 * The first view position whose grid cell is at or after cell `s` (n if none).
 * @param {Layout} L
 * @param {number} n
 * @param {number} s
 * @returns {Pos}
 */
export function posAtCell(L, n, s) {
  const slot = L.slot;
  if (!slot) return Math.max(0, Math.min(n, s));
  let lo = 0, hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (slot[mid] < s) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/**
 * The grid row of view position p.
 * @param {Layout} L
 * @param {Pos} p
 */
export function rowOf(L, p) {
  return Math.floor((L.slot ? L.slot[p] : p) / L.cols);
}

/**
 * The position `d` grid rows below (above, d < 0) position p, in the same column or, if that row
 * ends earlier (a short group), its last item; clamped to the first / last row.
 * @param {Layout} L
 * @param {number} n
 * @param {Pos} p
 * @param {number} d
 * @returns {Pos}
 */
export function moveRows(L, n, p, d) {
  const row = Math.max(0, Math.min(L.rows - 1, rowOf(L, p) + d));
  const col = (L.slot ? L.slot[p] : p) % L.cols;
  const q = posAtCell(L, n, row * L.cols + col);
  return q < n && rowOf(L, q) === row ? q : Math.max(0, posAtCell(L, n, (row + 1) * L.cols) - 1);
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
  return { first: posAtCell(L, n, r0 * L.cols), last: posAtCell(L, n, r1 * L.cols), firstRow: r0 };
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
  const s = r * L.cols + c;
  if (!L.slot) return s < n ? s : -1;
  const p = posAtCell(L, n, s);
  return p < n && L.slot[p] === s ? p : -1;
}

/**
 * Top-left corner of the cell at view position p, in content coordinates.
 * @param {Layout} L
 * @param {Pos} p
 */
export function cellOrigin(L, p) {
  const s = L.slot ? L.slot[p] : p;
  return { x: L.pad + (s % L.cols) * L.cellW, y: L.pad + Math.floor(s / L.cols) * L.cellH };
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
 * NaN and "" go last in both directions. Returns a Uint32Array of row indices. With `groups`
 * (a group rank per row, 0, 1, ...), the rows stay group by group in rank order and the column
 * orders them within their group.
 * @param {number} n
 * @param {Column | string[] | null | undefined} column
 * @param {boolean} [descending]
 * @param {NumberColumn | null} [groups]
 * @returns {Uint32Array}
 */
export function sortOrder(n, column, descending = false, groups = null) {
  const idx = sortByColumn(n, column, descending);
  return groups ? byGroup(idx, groups) : idx;
}

/**
 * A stable counting sort of an order by group rank (ranks are small non-negative integers).
 * @param {Uint32Array} idx
 * @param {NumberColumn} groups
 * @returns {Uint32Array}
 */
function byGroup(idx, groups) {
  let g = 0;
  for (let k = 0; k < idx.length; k++) g = Math.max(g, groups[idx[k]]);
  const start = new Int32Array(g + 2);
  for (let k = 0; k < idx.length; k++) start[groups[idx[k]] + 1]++;
  for (let i = 0; i <= g; i++) start[i + 1] += start[i];
  const out = new Uint32Array(idx.length);
  for (let k = 0; k < idx.length; k++) out[start[groups[idx[k]]]++] = idx[k];
  return out;
}

/**
 * @param {number} n
 * @param {Column | string[] | null | undefined} column
 * @param {boolean} descending
 * @returns {Uint32Array}
 */
function sortByColumn(n, column, descending) {
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
