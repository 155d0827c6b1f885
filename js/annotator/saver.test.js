// @ts-check
import { test } from "node:test";
import assert from "node:assert/strict";
import { SaveQueue } from "./saver.js";

const tick = () => new Promise((r) => setTimeout(r, 0));

test("FIFO: an update waits for the create and uses its id; failures are retried, never dropped", async () => {
  /** @type {any[]} */
  const sent = [];
  let failures = 1;
  const ref = { id: null };
  /** @type {(() => void)[]} */
  const timers = [];
  const q = new SaveQueue({
    request: async (m) => {
      sent.push(m);
      if (failures > 0) { failures--; return { ok: false, error: "boom" }; }
      return { ok: true, instance_id: 42 };
    },
    setTimer: (f) => timers.push(f),
  });
  q.enqueue({ build: () => ({ op: "create" }), onOk: (r) => (ref.id = r.instance_id) });
  q.enqueue({ build: () => ({ op: "update", id: ref.id }) });
  await tick();
  assert.equal(q.state, "failed");
  assert.equal(q.pending, 2);
  assert.equal(sent.length, 1);
  /** @type {() => void} */ (timers.shift())(); // backoff elapsed
  for (let i = 0; i < 5; i++) await tick();
  assert.deepEqual(sent.map((m) => m.op), ["create", "create", "update"]);
  assert.equal(sent[2].id, 42);
  assert.equal(q.state, "saved");
  assert.equal(q.pending, 0);
});

test("timeouts (rejections) are retried; noRetry entries report and move on", async () => {
  let n = 0;
  /** @type {string[]} */
  const errors = [];
  /** @type {(() => void)[]} */
  const timers = [];
  const q = new SaveQueue({
    request: async (m) => {
      n++;
      if (m.kind === "status") return { ok: false, error: "missing pose" };
      if (n === 1) throw new Error("timeout");
      return { ok: true };
    },
    setTimer: (f) => timers.push(f),
  });
  q.enqueue({ build: () => ({ kind: "save" }) });
  q.enqueue({ build: () => ({ kind: "status" }), noRetry: true, onFail: (e) => errors.push(e) });
  await tick();
  assert.equal(q.state, "failed");
  /** @type {() => void} */ (timers.shift())();
  for (let i = 0; i < 5; i++) await tick();
  assert.deepEqual(errors, ["missing pose"]);
  assert.equal(q.state, "saved");
});

test("a disposed client stops the queue: no retry loop, pending entries stay counted, close() stops sending", async () => {
  const { Rpc, RpcClosedError } = await import("../shared/rpc.js");
  const { FakeModel } = await import("../shared/fake-model.js");
  const model = new FakeModel();
  const rpc = new Rpc(/** @type {any} */ (model));
  /** @type {(() => void)[]} */
  const timers = [];
  const q = new SaveQueue({ request: (m, t) => rpc.request(/** @type {any} */ (m), t), setTimer: (f) => timers.push(f) });
  q.enqueue({ build: () => ({ kind: "save", op: "create" }) });
  q.enqueue({ build: () => ({ kind: "save", op: "update" }) });
  await tick();
  rpc.dispose(); // the model goes away with the first save in flight (no reply ever came)
  for (let i = 0; i < 5; i++) await tick();
  assert.ok(new RpcClosedError("save") instanceof Error);
  assert.equal(timers.length, 0, "no backoff timer: retrying a closed client can never succeed");
  assert.equal(q.closed, true);
  assert.equal(q.state, "failed");
  assert.equal(q.pending, 2);

  const sent = [];
  const q2 = new SaveQueue({ request: async (m) => { sent.push(m); return { ok: true }; } });
  q2.close();
  q2.enqueue({ build: () => ({ kind: "save" }) });
  await tick();
  assert.equal(sent.length, 0);
  assert.equal(q2.pending, 1);
});
