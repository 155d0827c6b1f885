import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { decodeTable, parseItems, isText, cell } from "./tables.js";
import { sortable, infoText } from "./columns.js";

const fixture = (name) => {
  const b = readFileSync(new URL(`./fixtures/${name}`, import.meta.url));
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
};

/** The bytes at an odd offset inside a bigger buffer, the way a websocket frame carries them. */
const inFrame = (bytes, at = 3) => {
  const frame = new Uint8Array(bytes.length + at + 5);
  frame.set(bytes, at);
  return new DataView(frame.buffer, at, bytes.length);
};

test("decodeTable reads what pyarrow writes (two batches, nulls, int64, unicode)", () => {
  const t = decodeTable(fixture("mixed.arrow"));
  assert.equal(t.numRows, 4);
  assert.deepEqual(t.names, ["media_id", "w", "s", "u", "x", "y", "name", "flag"]);
  const c = t.columns;
  assert.ok(c.media_id instanceof Float64Array); // int64 ids as numbers
  assert.deepEqual([...c.media_id], [1, 2, 2 ** 40, 9]);
  assert.ok(c.w instanceof Int32Array);
  assert.deepEqual([...c.w], [640, -3, 0, 5]);
  assert.ok(c.s instanceof Int8Array);
  assert.deepEqual([...c.s], [1, -2, 3, 0]);
  assert.ok(c.u instanceof Uint16Array);
  assert.deepEqual([...c.u], [7, 65535, 0, 1]);
  assert.ok(c.x instanceof Float32Array);
  assert.deepEqual([...c.x], [0.5, -1.25, 3, 2]);
  assert.ok(c.y instanceof Float64Array); // with a null: NaN, like the NaN next to it
  assert.equal(c.y[0], 1.5);
  assert.ok(Number.isNaN(c.y[1]) && Number.isNaN(c.y[2]));
  assert.equal(c.y[3], 2);
  assert.ok(isText(c.name));
  assert.equal(c.name.length, 4);
  assert.equal(c.name.get(3), "ünï 写真.png"); // one value, decoded on its own
  assert.equal(c.name.get(1), ""); // null
  assert.deepEqual(c.name.all(), ["a.jpg", "", "<img src=x onerror=alert(1)>", "ünï 写真.png"]);
  assert.ok(c.flag instanceof Uint8Array);
  assert.deepEqual([...c.flag], [1, 0, 0, 1]); // null → 0
  assert.equal(cell(c.name, 2), "<img src=x onerror=alert(1)>");
  assert.equal(cell(c.w, 1), -3);
});

test("decodeTable copies a misaligned view before reading it", () => {
  const bytes = fixture("mixed.arrow");
  for (const at of [1, 3, 4, 8]) {
    const v = inFrame(bytes, at);
    const t = decodeTable(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    assert.deepEqual([...t.columns.w], [640, -3, 0, 5]);
    assert.deepEqual([...t.columns.media_id], [1, 2, 2 ** 40, 9]);
  }
});

test("decodeTable refuses what is not an Arrow stream", () => {
  assert.throws(() => decodeTable(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])));
});

test("parseItems reads the kernel's items reply (Gallery.tables() through _ipc)", () => {
  const reply = { runs: ["m1"], columns: ["file_name", "width", "format", "n_instances"],
    buffers: [inFrame(fixture("items.arrow"), 5), inFrame(fixture("boxes.arrow"), 1)] };
  const d = parseItems(reply);
  assert.equal(d.n, 3);
  assert.equal(d.nBoxes, 8);
  assert.deepEqual([...d.mediaIds], [1, 2, 3]);
  assert.deepEqual(d.names.all(), ["<img src=x onerror=alert(1)>.png", "a.png", "ünï 写真.png"]);
  assert.deepEqual([...d.W], [30, 60, 10]);
  assert.deepEqual([...d.H], [20, 40, 50]);
  assert.deepEqual([...d.items.n_gt], [1, 2, 0]);
  assert.deepEqual([...d.items["tp:m1"]], [0, 1, 0]);
  assert.deepEqual([...d.items["fp:m1"]], [1, 1, 0]);
  assert.deepEqual([...d.items["fn:m1"]], [1, 1, 0]);
  assert.deepEqual(d.items.format.all(), ["PNG", "PNG", "PNG"]);
  // boxes, sorted by item, with each item's slice in `off`
  assert.deepEqual([...d.off], [0, 3, 8, 8]);
  assert.deepEqual([...d.boxes.item], [0, 0, 0, 1, 1, 1, 1, 1]);
  assert.deepEqual([...d.boxes.src], [0, 1, 1, 0, 0, 1, 1, 1]);
  assert.deepEqual([...d.boxes.status], [0, 2, 3, 0, 0, 1, 2, 3]); // gt, fp, missed | gt, gt, tp, fp, missed
  assert.deepEqual([...d.boxes.x0.subarray(3)], [10, 30, 10, 40, 30]);
  assert.deepEqual([...d.boxes.y1.subarray(3)], [20, 30, 21, 5, 30]);
  // the info line and the sort menu read the same columns
  assert.deepEqual(sortable(d), ["file_name", "width", "height", "n_gt", "format", "n_instances", "tp:m1", "fp:m1", "fn:m1"]);
  assert.equal(infoText(d, 1), "a.png   60×40   format: PNG   n_instances: 2   m1: tp 1 fp 1 fn 1");
});

test("parseItems says what is missing", () => {
  assert.throws(() => parseItems({ buffers: [inFrame(fixture("items.arrow"))] }), /two Arrow streams/);
  const swapped = { buffers: [inFrame(fixture("boxes.arrow")), inFrame(fixture("items.arrow"))] };
  assert.throws(() => parseItems(swapped), /file_name/);
});
