import { test } from "node:test";
import assert from "node:assert/strict";
import { Rpc, RpcClosedError, toBytes } from "./rpc.js";
import { FakeModel } from "./fake-model.js";

const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;

test("a reply is matched to its request by id, in any order, with its buffers", async () => {
  const model = new FakeModel();
  const rpc = new Rpc(model, "t");
  assert.equal(model.count("msg:custom"), 1);
  const a = rpc.request({ kind: "load", index: 3 });
  const b = rpc.request({ kind: "nav", action: "next" });
  const [ma, mb] = model.sent.map((s) => s.content);
  assert.equal(ma.kind, "load");
  assert.equal(ma.index, 3);
  assert.match(ma.id, /^t-[a-z0-9]+-1$/);
  assert.notEqual(ma.id, mb.id);
  assert.equal(rpc.size, 2);
  const buf = new DataView(new ArrayBuffer(8), 2, 4);
  model.message({ id: mb.id, ok: true, index: 4 });
  model.message({ id: ma.id, ok: true, item: { media_id: 9 } }, [buf]);
  const [ra, rb] = await Promise.all([a, b]);
  assert.equal(timers(), 0); // both timeouts cleared once answered
  assert.deepEqual(rb, { id: mb.id, ok: true, index: 4, buffers: [] });
  assert.equal(ra.item.media_id, 9);
  assert.equal(ra.buffers.length, 1);
  assert.equal(ra.buffers[0], buf); // passed through, not copied
  assert.equal(rpc.size, 0);
});

test("two clients on one model never take each other's replies", async () => {
  const model = new FakeModel();
  const one = new Rpc(model, "x");
  const two = new Rpc(model, "x");
  const seen = [];
  one.onOther = (m) => seen.push(m.id);
  const p2 = two.request({ kind: "items" });
  const id2 = model.last.id;
  assert.ok(!id2.startsWith(one.prefix));
  model.message({ id: id2, ok: true, n: 1 });
  assert.equal((await p2).n, 1);
  assert.deepEqual(seen, [id2]); // for `one` it is someone else's message
  assert.equal(one.size, 0);
});

test("messages that are not replies go to onOther, with their buffers", () => {
  const model = new FakeModel();
  const rpc = new Rpc(model);
  const other = [];
  rpc.onOther = (m, bufs) => other.push([m, bufs.length]);
  const buf = new DataView(new ArrayBuffer(1));
  model.message({ event: "refresh" }, [buf]);
  model.message({ id: "kernel-7", ok: true });
  model.message(null);
  assert.deepEqual(other, [[{ event: "refresh" }, 1], [{ id: "kernel-7", ok: true }, 0], [null, 0]]);
});

test("a timeout rejects, forgets the request, and its late reply is ignored", async () => {
  const model = new FakeModel();
  const rpc = new Rpc(model);
  const other = [];
  rpc.onOther = (m) => other.push(m);
  const p = rpc.request({ kind: "thumbs", ids: [1] }, 20);
  const id = model.last.id;
  await assert.rejects(p, { message: "no reply to thumbs within 20 ms" });
  assert.equal(rpc.size, 0);
  const next = rpc.request({ kind: "thumbs", ids: [2] }, 1000);
  model.message({ id, ok: true, ids: [1] }); // the late reply of the first request
  model.message({ id, ok: true, ids: [1] });
  assert.deepEqual(other, []); // not mistaken for a message of the kernel's own
  assert.equal(rpc.size, 1); // and it settles nothing else
  model.message({ id: model.last.id, ok: true, ids: [2] });
  assert.deepEqual((await next).ids, [2]);
});

test("a second reply with the same id is dropped", async () => {
  const model = new FakeModel();
  const rpc = new Rpc(model);
  const other = [];
  rpc.onOther = (m) => other.push(m);
  const p = rpc.request({ kind: "select", ids: [] });
  model.message({ id: model.last.id, ok: true, count: 0 });
  model.message({ id: model.last.id, ok: true, count: 5 });
  assert.equal((await p).count, 0);
  assert.deepEqual(other, []);
});

test("dispose rejects what is pending, removes the listener and refuses new requests", async () => {
  const model = new FakeModel();
  const rpc = new Rpc(model);
  const before = timers();
  const a = rpc.request({ kind: "save" }, 5000);
  const b = rpc.request({ kind: "load" }, 5000);
  assert.equal(timers(), before + 2);
  rpc.dispose();
  assert.equal(timers(), before); // the timeouts are cleared, not left to fire
  await assert.rejects(a, (e) => e instanceof RpcClosedError && e.kind === "save" && /closed/.test(e.message));
  await assert.rejects(b, RpcClosedError);
  assert.equal(rpc.size, 0);
  assert.equal(model.count("msg:custom"), 0);
  model.message({ id: model.sent[0].content.id, ok: true }); // nobody listens any more: no throw
  const sent = model.sent.length;
  await assert.rejects(rpc.request({ kind: "nav" }), RpcClosedError);
  assert.equal(model.sent.length, sent); // nothing was sent for it
  rpc.dispose(); // twice is fine
});

test("rejectOnError: ok:false rejects with the kernel's error (or the kind)", async () => {
  const model = new FakeModel();
  const rpc = new Rpc(model, "gallery", { rejectOnError: true });
  const p = rpc.request({ kind: "action", action: "tag" });
  model.message({ id: model.last.id, ok: false, error: "unknown label 4" });
  await assert.rejects(p, { message: "unknown label 4" });
  const q = rpc.request({ kind: "open" });
  model.message({ id: model.last.id, ok: false });
  await assert.rejects(q, { message: "open failed" });
  const r = rpc.request({ kind: "open" });
  model.message({ id: model.last.id, ok: true });
  assert.equal((await r).ok, true);
  assert.equal(rpc.size, 0);
});

test("without rejectOnError, ok:false resolves with the error for the caller to show", async () => {
  const model = new FakeModel();
  const rpc = new Rpc(model);
  const p = rpc.request({ kind: "status", state: "complete" });
  model.message({ id: model.last.id, ok: false, error: "missing: color" });
  const r = await p;
  assert.equal(r.ok, false);
  assert.equal(r.error, "missing: color");
  assert.deepEqual(r.buffers, []);
});

test("a send that throws rejects at once and leaves nothing pending", async () => {
  const model = new FakeModel();
  model.sendError = new Error("comm closed");
  const rpc = new Rpc(model);
  const before = timers();
  await assert.rejects(rpc.request({ kind: "load" }, 5000), { message: "comm closed" });
  assert.equal(rpc.size, 0);
  assert.equal(timers(), before); // its timer was cleared too
});

test("toBytes views DataViews, ArrayBuffers and typed arrays without copying", () => {
  const ab = new ArrayBuffer(10);
  new Uint8Array(ab).set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const v = toBytes(new DataView(ab, 3, 4));
  assert.deepEqual([...v], [3, 4, 5, 6]);
  assert.equal(v.buffer, ab);
  assert.equal(toBytes(ab).length, 10);
  assert.deepEqual([...toBytes(new Uint16Array(ab, 2, 1))], [2, 3]);
  assert.equal(toBytes(null), null);
  assert.equal(toBytes("abc"), null);
});
