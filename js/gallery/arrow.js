// A small reader for the Arrow IPC *stream* format, enough for the tables the gallery's kernel sends:
// Int8/16/32/64 (signed or not), Float32/64, Bool and Utf8 columns, in one or more record batches,
// uncompressed. Nulls: numbers read as NaN (floats) or 0, strings as "". No dependencies.
// Format: https://arrow.apache.org/docs/format/Columnar.html (flatbuffer Message / Schema / RecordBatch).

const HEADER_SCHEMA = 1;
const HEADER_RECORD_BATCH = 3;
const TYPE_INT = 2, TYPE_FLOAT = 3, TYPE_UTF8 = 5, TYPE_BOOL = 6;

// -- flatbuffers, just what Arrow's metadata needs ------------------------------------------------
class Table {
  constructor(dv, pos) {
    this.dv = dv;
    this.pos = pos;
    this.vt = pos - dv.getInt32(pos, true);
    this.vtSize = dv.getUint16(this.vt, true);
  }
  off(i) {
    const o = 4 + 2 * i;
    return o < this.vtSize ? this.dv.getUint16(this.vt + o, true) : 0;
  }
  u8(i, d = 0) { const o = this.off(i); return o ? this.dv.getUint8(this.pos + o) : d; }
  i16(i, d = 0) { const o = this.off(i); return o ? this.dv.getInt16(this.pos + o, true) : d; }
  i32(i, d = 0) { const o = this.off(i); return o ? this.dv.getInt32(this.pos + o, true) : d; }
  i64(i, d = 0) { const o = this.off(i); return o ? readI64(this.dv, this.pos + o) : d; }
  bool(i) { return this.u8(i) !== 0; }
  ref(i) { const o = this.off(i); if (!o) return 0; const p = this.pos + o; return p + this.dv.getUint32(p, true); }
  table(i) { const p = this.ref(i); return p ? new Table(this.dv, p) : null; }
  str(i) {
    const p = this.ref(i);
    if (!p) return "";
    const n = this.dv.getUint32(p, true);
    return new TextDecoder().decode(new Uint8Array(this.dv.buffer, this.dv.byteOffset + p + 4, n));
  }
  vecLen(i) { const p = this.ref(i); return p ? this.dv.getUint32(p, true) : 0; }
  vecTable(i, k) { const e = this.ref(i) + 4 + 4 * k; return new Table(this.dv, e + this.dv.getUint32(e, true)); }
  vecStructPos(i, k, size) { return this.ref(i) + 4 + size * k; }
}

function readI64(dv, p) {
  return dv.getUint32(p, true) + dv.getInt32(p + 4, true) * 4294967296;
}

function parseField(t) {
  const typeType = t.u8(2);
  const ty = t.table(3);
  const f = { name: t.str(0), nullable: t.bool(1), typeType, bits: 0, signed: true, precision: 0 };
  if (typeType === TYPE_INT) { f.bits = ty.i32(0); f.signed = ty.bool(1); }
  else if (typeType === TYPE_FLOAT) f.precision = ty.i16(0);
  else if (typeType !== TYPE_UTF8 && typeType !== TYPE_BOOL) throw new Error(`arrow: column ${f.name}: unsupported type ${typeType}`);
  if (t.vecLen(5)) throw new Error(`arrow: column ${f.name}: nested types are not supported`);
  return f;
}

function ctorOf(f) {
  if (f.typeType === TYPE_FLOAT) {
    if (f.precision === 1) return Float32Array;
    if (f.precision === 2) return Float64Array;
    throw new Error(`arrow: column ${f.name}: half floats are not supported`);
  }
  const m = { 8: [Int8Array, Uint8Array], 16: [Int16Array, Uint16Array], 32: [Int32Array, Uint32Array], 64: [BigInt64Array, BigUint64Array] }[f.bits];
  if (!m) throw new Error(`arrow: column ${f.name}: int${f.bits} is not supported`);
  return m[f.signed ? 0 : 1];
}

/** A typed array over bytes[off, off+len), copied only if misaligned. */
function view(C, bytes, off, count) {
  const abs = bytes.byteOffset + off;
  if (abs % C.BYTES_PER_ELEMENT === 0) return new C(bytes.buffer, abs, count);
  return new C(bytes.buffer.slice(abs, abs + count * C.BYTES_PER_ELEMENT));
}

/** A string column: decoded on demand (and cached), `get(i)`; `all()` decodes every value once. */
export class Utf8Column {
  constructor(parts) {
    this.parts = parts; // [{offsets: Int32Array, data: Uint8Array, length, start}]
    this.length = parts.reduce((s, p) => s + p.length, 0);
    this.cache = null;
    this.dec = new TextDecoder();
  }
  get(i) {
    if (this.cache) return this.cache[i];
    for (const p of this.parts) {
      if (i < p.start + p.length) {
        const k = i - p.start;
        const a = p.offsets[k], b = p.offsets[k + 1];
        if (p.valid && !((p.valid[k >> 3] >> (k & 7)) & 1)) return "";
        return this.dec.decode(p.data.subarray(a, b));
      }
    }
    return "";
  }
  all() {
    if (!this.cache) {
      const out = new Array(this.length);
      for (let i = 0; i < this.length; i++) out[i] = this.get(i);
      this.cache = out;
    }
    return this.cache;
  }
}

function concatNumeric(C, chunks, n) {
  if (chunks.length === 1) return chunks[0];
  const out = new C(n);
  let o = 0;
  for (const c of chunks) { out.set(c, o); o += c.length; }
  return out;
}

/**
 * Read an Arrow IPC stream. Returns {numRows, fields: [{name,...}], columns: {name: TypedArray|Utf8Column}}.
 * 64-bit integers become Float64Array (exact up to 2^53), booleans Uint8Array (0/1).
 * @param {Uint8Array|ArrayBuffer|DataView} input
 */
export function readArrowStream(input) {
  const bytes = input instanceof Uint8Array ? input
    : ArrayBuffer.isView(input) ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength)
    : new Uint8Array(input);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  let fields = null;
  const chunks = [];
  let numRows = 0;
  while (pos + 4 <= bytes.byteLength) {
    let metaLen = dv.getInt32(pos, true);
    pos += 4;
    if (metaLen === -1) { metaLen = dv.getInt32(pos, true); pos += 4; } // continuation marker
    if (metaLen === 0) break; // end of stream
    const msg = new Table(dv, pos + dv.getUint32(pos, true));
    const headerType = msg.u8(1);
    const header = msg.table(2);
    const bodyLen = msg.i64(3);
    const body = pos + metaLen;
    pos = body + bodyLen;
    if (headerType === HEADER_SCHEMA) {
      fields = [];
      for (let k = 0; k < header.vecLen(1); k++) fields.push(parseField(header.vecTable(1, k)));
    } else if (headerType === HEADER_RECORD_BATCH) {
      if (!fields) throw new Error("arrow: record batch before schema");
      if (header.off(3)) throw new Error("arrow: compressed batches are not supported");
      const length = header.i64(0);
      const nodes = [], bufs = [];
      for (let k = 0; k < header.vecLen(1); k++) {
        const p = header.vecStructPos(1, k, 16);
        nodes.push({ length: readI64(dv, p), nulls: readI64(dv, p + 8) });
      }
      for (let k = 0; k < header.vecLen(2); k++) {
        const p = header.vecStructPos(2, k, 16);
        bufs.push({ offset: body + readI64(dv, p), length: readI64(dv, p + 8) });
      }
      let b = 0;
      const cols = fields.map((f, k) => {
        const node = nodes[k];
        const validity = bufs[b++];
        const valid = node.nulls > 0 && validity.length ? bytes.subarray(validity.offset, validity.offset + validity.length) : null;
        if (f.typeType === TYPE_UTF8) {
          const offs = bufs[b++], data = bufs[b++];
          return { utf8: true, offsets: view(Int32Array, bytes, offs.offset, node.length + 1),
            data: bytes.subarray(data.offset, data.offset + data.length), length: node.length, valid };
        }
        const data = bufs[b++];
        if (f.typeType === TYPE_BOOL) {
          const out = new Uint8Array(node.length);
          for (let i = 0; i < node.length; i++) out[i] = (bytes[data.offset + (i >> 3)] >> (i & 7)) & 1;
          return out;
        }
        let arr = view(ctorOf(f), bytes, data.offset, node.length);
        if (f.bits === 64) arr = Float64Array.from(arr, Number);
        if (valid) {
          if (!(arr instanceof Float32Array || arr instanceof Float64Array)) arr = Float64Array.from(arr);
          else arr = arr.slice();
          for (let i = 0; i < node.length; i++) if (!((valid[i >> 3] >> (i & 7)) & 1)) arr[i] = NaN;
        }
        return arr;
      });
      chunks.push({ length, cols, start: numRows });
      numRows += length;
    } else {
      throw new Error(`arrow: unsupported message type ${headerType} (dictionaries are not supported)`);
    }
  }
  if (!fields) throw new Error("arrow: no schema in stream");
  const columns = {};
  fields.forEach((f, k) => {
    if (f.typeType === TYPE_UTF8) {
      columns[f.name] = new Utf8Column(chunks.map((c) => ({ ...c.cols[k], start: c.start })));
    } else {
      const parts = chunks.map((c) => c.cols[k]);
      const C = parts.length ? parts[0].constructor : Float64Array;
      columns[f.name] = parts.length ? concatNumeric(C, parts, numRows) : new C(0);
    }
  });
  return { numRows, fields, columns };
}
