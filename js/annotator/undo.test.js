// @ts-check
import { test } from "node:test";
import assert from "node:assert/strict";
import { UndoStack } from "./undo.js";

/** @param {{n: number}} state @param {number} by @param {string[]} log */
function counterCmd(state, by, log) {
  return { name: `add ${by}`, undo: () => { state.n -= by; log.push(`undo${by}`); }, redo: () => { state.n += by; log.push(`redo${by}`); } };
}

test("undo / redo replays commands in order", () => {
  /** @type {string[]} */
  const log = [];
  const st = { n: 0 }, u = new UndoStack();
  for (const by of [1, 10, 100]) { st.n += by; u.push(counterCmd(st, by, log)); }
  assert.equal(st.n, 111);
  u.undo();
  u.undo();
  assert.equal(st.n, 1);
  assert.equal(u.canRedo, true);
  u.redo();
  assert.equal(st.n, 11);
  assert.deepEqual(log, ["undo100", "undo10", "redo10"]);
});

test("a new command clears the redo branch; empty stacks return null", () => {
  /** @type {string[]} */
  const log = [];
  const st = { n: 0 }, u = new UndoStack();
  st.n += 1; u.push(counterCmd(st, 1, log));
  u.undo();
  st.n += 5; u.push(counterCmd(st, 5, log));
  assert.equal(u.canRedo, false);
  assert.equal(u.redo(), null);
  u.undo();
  assert.equal(u.undo(), null);
  assert.equal(st.n, 0);
});

test("limit drops the oldest commands", () => {
  const st = { n: 0 }, u = new UndoStack(2);
  for (const by of [1, 2, 3]) { st.n += by; u.push(counterCmd(st, by, [])); }
  u.undo(); u.undo();
  assert.equal(u.undo(), null);
  assert.equal(st.n, 1);
});
