import { test } from "node:test";
import assert from "node:assert/strict";
import { ThumbCache } from "./thumbs.js";

/** A fake kernel: answers `thumbs` with one byte per id (0 bytes = no image) when the test says so. */
function kernel({ empty = [] } = {}) {
  const calls = [];
  const fetch = (ids) => new Promise((resolve, reject) => {
    calls.push({ ids, resolve: () => {
      const offsets = [0];
      for (const id of ids) offsets.push(offsets[offsets.length - 1] + (empty.includes(id) ? 0 : 1));
      const buf = new Uint8Array(offsets[offsets.length - 1]);
      let k = 0;
      for (const id of ids) if (!empty.includes(id)) buf[k++] = id;
      resolve({ ids, offsets, buffers: [new DataView(buf.buffer)] });
    }, reject });
  });
  return { calls, fetch };
}

/** A fake decoder: a "bitmap" that remembers its byte and whether it was closed; byte 13 is corrupt. */
const decode = async (bytes) => {
  if (bytes[0] === 13) throw new Error("not a jpeg");
  return { width: 4, height: 3, byte: bytes[0], closed: false, close() { this.closed = true; } };
};

const flush = () => new Promise((r) => setTimeout(r, 0));
const none = () => new Set();

test("asks for what is missing, one batch at a time, at most maxInflight requests", async () => {
  const k = kernel();
  let settled = 0, loads = 0;
  const c = new ThumbCache({ fetch: k.fetch, decode, batch: 3, maxInflight: 2, onLoad: () => loads++, onSettle: () => settled++ });
  assert.ok(c.load([1, 2, 3, 4, 5], none));
  assert.deepEqual(k.calls[0].ids, [1, 2, 3]);
  assert.ok(c.load([1, 2, 3, 4, 5], none)); // 1-3 are on their way
  assert.deepEqual(k.calls[1].ids, [4, 5]);
  assert.equal(c.load([6], none), null); // both slots busy
  assert.equal(k.calls.length, 2);
  k.calls[0].resolve();
  await flush();
  assert.equal(settled, 1);
  assert.equal(loads, 1);
  assert.equal(c.get(2).byte, 2);
  assert.equal(c.get(4), undefined); // not yet
  assert.equal(c.load([1, 2, 3], none), null); // all cached: nothing to ask
  assert.ok(c.load([6, 1], none));
  assert.deepEqual(k.calls[2].ids, [6]);
});

test("an empty slice or an undecodable one is 'no image' (null), not 'not loaded'", async () => {
  const k = kernel({ empty: [7] });
  const c = new ThumbCache({ fetch: k.fetch, decode });
  c.load([7, 13, 8], none);
  k.calls[0].resolve();
  await flush();
  assert.equal(c.get(7), null);
  assert.equal(c.get(13), null);
  assert.equal(c.get(8).byte, 8);
  assert.equal(c.size, 3);
  assert.equal(c.load([7, 13], none), null); // and they are not asked for again
});

test("a failed request reports, frees its ids and its slot", async () => {
  const k = kernel();
  const errors = [];
  let settled = 0;
  const c = new ThumbCache({ fetch: k.fetch, decode, maxInflight: 1, onError: (e) => errors.push(e.message), onSettle: () => settled++ });
  c.load([1, 2], none);
  k.calls[0].reject(new Error("no reply to thumbs within 30000 ms"));
  await flush();
  assert.deepEqual(errors, ["no reply to thumbs within 30000 ms"]);
  assert.equal(settled, 1);
  assert.equal(c.pending, 0);
  assert.ok(c.load([1, 2], none)); // asked again
  assert.deepEqual(k.calls[1].ids, [1, 2]);
});

test("over the bound, the oldest bitmaps not kept are closed until 80 % is left", async () => {
  const k = kernel();
  const c = new ThumbCache({ fetch: k.fetch, decode, batch: 10, max: 5 });
  c.load([1, 2, 3, 4], none);
  k.calls[0].resolve();
  await flush();
  assert.equal(c.size, 4); // under the bound: nothing goes
  const first = [1, 2, 3, 4].map((id) => c.get(id));
  c.load([5, 6, 7], () => new Set([1, 6])); // 1 and 6 are near the screen
  k.calls[1].resolve();
  await flush();
  assert.deepEqual([...c.bitmaps.keys()], [1, 5, 6, 7]);
  assert.deepEqual(first.map((b) => b.closed), [false, true, true, true]);
});

test("clear closes every bitmap; after dispose, late ones are closed and not kept", async () => {
  const k = kernel();
  const c = new ThumbCache({ fetch: k.fetch, decode });
  c.load([1], none);
  k.calls[0].resolve();
  await flush();
  const one = c.get(1);
  c.clear();
  assert.equal(one.closed, true);
  assert.equal(c.size, 0);
  c.load([2], none);
  c.dispose();
  assert.equal(c.load([3], none), null); // no new requests
  const decoded = [];
  c.decode = async (b) => { const bm = await decode(b); decoded.push(bm); return bm; };
  k.calls[1].resolve();
  await flush();
  assert.equal(c.size, 0);
  assert.equal(decoded.length, 1);
  assert.equal(decoded[0].closed, true);
});
