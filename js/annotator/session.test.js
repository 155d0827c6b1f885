// @ts-check
import { test } from "node:test";
import assert from "node:assert/strict";
import { sessionFor, endSession } from "./session.js";

/** A model that answers every save after a tick and counts its message handlers. */
function fakeModel() {
  /** @type {Map<string, Set<Function>>} */
  const handlers = new Map();
  /** @type {any[]} */
  const sent = [];
  const model = {
    sent,
    handlers: () => (handlers.get("msg:custom") || new Set()).size,
    get: () => undefined,
    set: () => {},
    save_changes: () => {},
    on: (/** @type {string} */ ev, /** @type {Function} */ f) => { if (!handlers.has(ev)) handlers.set(ev, new Set()); handlers.get(ev)?.add(f); },
    off: (/** @type {string} */ ev, /** @type {Function} */ f) => { handlers.get(ev)?.delete(f); },
    send: (/** @type {any} */ m) => {
      sent.push(m);
      setTimeout(() => { for (const f of handlers.get("msg:custom") || []) f({ id: m.id, ok: true, instance_id: 1, version: 1 }, []); }, 1);
    },
  };
  return model;
}

test("one session per model: one message handler, shared by every view, gone with the model", () => {
  const model = /** @type {any} */ (fakeModel());
  const a = sessionFor(model), b = sessionFor(model);
  assert.equal(a, b);
  assert.equal(model.handlers(), 1);
  const other = sessionFor(/** @type {any} */ (fakeModel()));
  assert.notEqual(other, a);
  endSession(model);
  assert.equal(model.handlers(), 0);
  assert.notEqual(sessionFor(model), a, "a new session after the old one ended");
  endSession(model);
});

test("two views of one model: a save is sent once and both views see the save state", async () => {
  const model = /** @type {any} */ (fakeModel());
  const session = sessionFor(model);
  /** @type {string[][]} */
  const seen = [[], []];
  const offs = seen.map((log) => session.onSaveState((st) => log.push(st.state)));
  session.saves.enqueue({ build: () => ({ kind: "save", op: "create", instance: { cid: "c1" } }) });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(model.sent.length, 1);
  assert.deepEqual(seen[0], ["saving", "saved"]);
  assert.deepEqual(seen[1], ["saving", "saved"]);
  offs[0]();
  session.saves.enqueue({ build: () => ({ kind: "save", op: "delete", instance_id: 1 }) });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(seen[0].length, 2, "an unsubscribed view is not told");
  assert.equal(seen[1].length, 4);
  endSession(model);
});
