// @ts-check
// Arrow IPC → the columns the gallery reads. The kernel sends two Arrow streams (items, boxes; see
// project/_gallery.py); @uwdata/flechette parses them, and this module turns each column into the
// one shape the grid uses: numbers as typed arrays (int64 as float64, nulls as NaN, booleans 0/1),
// text as a column decoded on demand (nulls as "").

import { tableFromIPC, Type } from "@uwdata/flechette";
import { toBytes } from "../shared/rpc.js";
import { boxOffsets } from "./grid.js";

/** @typedef {import("./types.js").Table} Table */
/** @typedef {import("./types.js").Column} Column */
/** @typedef {import("./types.js").NumberColumn} NumberColumn */
/** @typedef {import("./types.js").TextColumn} TextColumn */
/** @typedef {import("./types.js").Items} Items */
/** @typedef {import("./types.js").Boxes} Boxes */
/** @typedef {import("./types.js").LegendEntry} LegendEntry */
/** @typedef {ReturnType<typeof tableFromIPC>["children"][number]} ArrowColumn */

/** @type {Set<number>} */
const NUMERIC = new Set([Type.Int, Type.Float, Type.Decimal, Type.Date, Type.Time, Type.Timestamp, Type.Duration]);
/** @type {Set<number>} */
const TEXT = new Set([Type.Utf8, Type.LargeUtf8, Type.Utf8View]);
const TYPED = [Float64Array, Float32Array, Int32Array, Int16Array, Int8Array, Uint32Array, Uint16Array, Uint8Array];

/**
 * Strings of an Arrow column, decoded when asked for (a caption needs a few dozen of 100k names;
 * sorting by the column decodes them all, once).
 * @implements {TextColumn}
 */
class LazyText {
  /** @param {ArrowColumn} col */
  constructor(col) {
    this.col = col;
    this.length = col.length;
    /** @type {string[] | null} */
    this.cache = null;
  }

  /** @param {number} i */
  get(i) {
    if (this.cache) return this.cache[i];
    const v = this.col.at(i);
    return v == null ? "" : String(v);
  }

  all() {
    if (!this.cache) this.cache = Array.from(this.col.toArray(), (v) => (v == null ? "" : String(v)));
    return this.cache;
  }
}

/**
 * @param {ArrowColumn} col
 * @returns {NumberColumn}
 */
function numbers(col) {
  const a = col.toArray();
  if (TYPED.some((C) => a instanceof C)) return /** @type {NumberColumn} */ (a);
  // with nulls (or 64-bit values spread over batches) flechette gives a plain array
  const out = new Float64Array(col.length);
  for (let i = 0; i < out.length; i++) {
    const v = a[i];
    out[i] = v == null ? NaN : Number(v);
  }
  return out;
}

/**
 * @param {ArrowColumn} col
 * @returns {Uint8Array}
 */
function booleans(col) {
  const out = new Uint8Array(col.length);
  let i = 0;
  for (const v of col) out[i++] = v ? 1 : 0;
  return out;
}

/**
 * Decode one Arrow IPC stream (as the kernel's `_ipc` writes it) into gallery columns.
 * @param {Uint8Array} bytes
 * @returns {Table}
 */
export function decodeTable(bytes) {
  // flechette makes typed arrays straight over the buffer, which needs it 8-byte aligned; a widget
  // message buffer is a view at any offset inside the websocket frame
  const aligned = bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
  const t = tableFromIPC(aligned);
  /** @type {Record<string, Column>} */
  const columns = {};
  t.names.forEach((name, k) => {
    const col = t.children[k];
    const id = col.type.typeId;
    if (TEXT.has(id)) columns[name] = new LazyText(col);
    else if (id === Type.Bool) columns[name] = booleans(col);
    else if (NUMERIC.has(id)) columns[name] = numbers(col);
    else throw new Error(`gallery table: column ${name} has an Arrow type (${id}) the gallery cannot show`);
  });
  return { numRows: t.numRows, names: t.names.map(String), columns };
}

/**
 * @param {Column} c
 * @returns {c is TextColumn}
 */
export function isText(c) {
  return "get" in c;
}

/**
 * @param {Table} t
 * @param {string} name
 * @returns {NumberColumn}
 */
function numberColumn(t, name) {
  const c = t.columns[name];
  if (!c || isText(c)) throw new Error(`gallery table: numeric column ${name} is missing`);
  return c;
}

/**
 * The reply to `{kind: "items"}` as the grid reads it.
 * @param {{buffers: DataView[], runs?: string[], columns?: string[], legend?: LegendEntry[], color_by?: string, group_by?: string}} reply
 * @returns {Items}
 */
export function parseItems(reply) {
  const [a, b] = reply.buffers.map(toBytes);
  if (!a || !b) throw new Error("the items reply carries two Arrow streams (items, boxes)");
  const items = decodeTable(a);
  const boxes = decodeTable(b);
  const names = items.columns.file_name;
  if (!names || !isText(names)) throw new Error("gallery table: text column file_name is missing");
  const num = (/** @type {string} */ name) => numberColumn(boxes, name);
  const item = num("item");
  const color = items.columns["@color"];
  const opt = (/** @type {string} */ name) => (name in items.columns ? numberColumn(items, name) : null);
  return {
    n: items.numRows, items: items.columns, nBoxes: boxes.numRows, runs: reply.runs || [], columns: reply.columns || [],
    boxes: { item, x0: num("x0"), y0: num("y0"), x1: num("x1"), y1: num("y1"), src: num("src"), status: num("status") },
    mediaIds: numberColumn(items, "media_id"), names, W: numberColumn(items, "width"), H: numberColumn(items, "height"),
    off: boxOffsets(item, items.numRows),
    color: color && isText(color) ? color : null, group: opt("@group"), keep: opt("@keep"),
    legend: reply.legend || [], colorBy: reply.color_by || "", groupBy: reply.group_by || "",
  };
}

/**
 * The value of row i of a column, as the info line shows it.
 * @param {Column} c
 * @param {number} i
 * @returns {string | number}
 */
export function cell(c, i) {
  return isText(c) ? c.get(i) : c[i];
}
