// @ts-check
import { test } from "node:test";
import assert from "node:assert/strict";
import { createState } from "./state.js";
import { Editor } from "./editor.js";
import { UndoStack } from "./undo.js";
import { SaveQueue } from "./saver.js";
import { Nudge } from "./nudge.js";
import { fromServer, newInst, snap } from "./instances.js";
import { toolFor } from "./tools/index.js";
import { withAttr, relabel, deleteVertexEdit, copiesOf } from "./commands.js";

const tick = () => new Promise((r) => setTimeout(r, 0));

/** An editor over a fresh state whose save queue records what it would send (building each entry). */
function setup() {
  const s = createState();
  s.item = /** @type {any} */ ({ index: 0, media_id: 7, width: 200, height: 100 });
  s.W = 200;
  s.H = 100;
  s.author = "ann";
  /** @type {any[]} */
  const sent = [];
  const saves = { enqueue: (/** @type {any} */ e) => sent.push(e.build(0)) };
  let changes = 0;
  const editor = new Editor({ state: s, saves, undo: new UndoStack(), changed: () => changes++ });
  return { s, sent, editor, changed: () => changes };
}

const box = (x0 = 10, y0 = 10, x1 = 50, y1 = 50) => newInst({ label_id: 1, kind: "box", box: [x0, y0, x1, y1], points: null });

test("editor: create -> undo -> redo restores the instances, each step queues its one save", () => {
  const { s, sent, editor } = setup();
  const b = box();
  editor.apply({ type: "create", insts: [b], name: "draw box" });
  assert.equal(s.inst.get(b.key), b);
  assert.equal(b.author, "ann");
  assert.equal(sent.length, 1);
  assert.equal(sent[0].op, "create");
  assert.equal(sent[0].media_id, 7);
  assert.deepEqual(sent[0].instance.box, [10, 10, 50, 50]);
  assert.match(sent[0].instance.cid, /^c/);
  editor.undoLast();
  assert.equal(s.inst.size, 0);
  assert.equal(sent.length, 2);
  assert.equal(sent[1].op, "delete");
  editor.redoLast();
  assert.equal(s.inst.get(b.key), b);
  assert.deepEqual(sent.map((m) => m.op), ["create", "delete", "create"]);
  assert.notEqual(sent[2].instance.cid, sent[0].instance.cid, "a re-create is a new create");
});

test("editor: update -> undo -> redo puts the snapshots back and saves each side", () => {
  const { s, sent, editor } = setup();
  const b = fromServer({ id: 5, version: 3, label_id: 1, kind: "box", box: [0, 0, 10, 10], points: null });
  s.inst.set(b.key, b);
  const before = snap(b), after = { ...snap(b), box: /** @type {import("./types.js").Box} */ ([5, 5, 15, 15]) };
  editor.apply({ type: "update", changes: [{ key: b.key, before, after }], name: "move" });
  assert.deepEqual(b.box, [5, 5, 15, 15]);
  assert.deepEqual(sent[0], { kind: "save", op: "update", media_id: 7, instance: { label_id: 1, kind: "box", box: [5, 5, 15, 15], points: null, attributes: {}, id: 5, version: 3 } });
  editor.undoLast();
  assert.deepEqual(b.box, [0, 0, 10, 10]);
  editor.redoLast();
  assert.deepEqual(b.box, [5, 5, 15, 15]);
  assert.equal(sent.length, 3);
  assert.deepEqual(sent.map((m) => m.instance.box), [[5, 5, 15, 15], [0, 0, 10, 10], [5, 5, 15, 15]]);
});

test("editor: live edits change geometry only (no save, no undo)", () => {
  const { s, sent, editor } = setup();
  const b = box();
  s.inst.set(b.key, b);
  editor.apply({ type: "live", geoms: new Map([[b.key, { box: [1, 2, 3, 4], points: null }]]) });
  assert.deepEqual(b.box, [1, 2, 3, 4]);
  assert.equal(sent.length, 0);
  assert.equal(editor.undo.canUndo, false);
});

test("a drag of the box tool through the editor queues exactly one save; a move of it exactly one more", () => {
  const { s, sent, editor } = setup();
  s.tool = "box";
  s.labelId = 1;
  /** @param {import("./types.js").Step | null} st */
  const run = (st) => {
    if (!st) return;
    if (st.edit) editor.apply(st.edit);
    if (st.mode) s.mode = st.mode;
    if (st.select) s.sel = new Set(st.select);
  };
  /** @param {number} x @param {number} y */
  const at = (x, y) => ({ x, y, ux: x, uy: y, sx: x, sy: y, tol: 6, shift: false, alt: false });
  run(/** @type {any} */ (toolFor(s)).down(s, at(10, 10)));
  for (let i = 1; i <= 20; i++) run(/** @type {any} */ (toolFor(s)).move(s, at(10 + i * 2, 10 + i)));
  run(/** @type {any} */ (toolFor(s)).up(s, at(50, 30), false));
  assert.deepEqual(sent.map((m) => m.op), ["create"]);
  run(/** @type {any} */ (toolFor(s)).down(s, at(30, 20))); // on the selected box: a move
  for (let i = 1; i <= 20; i++) run(/** @type {any} */ (toolFor(s)).move(s, at(30 + i, 20)));
  run(/** @type {any} */ (toolFor(s)).up(s, at(50, 20), false));
  assert.deepEqual(sent.map((m) => m.op), ["create", "update"]);
  assert.deepEqual(sent[1].instance.box, [30, 10, 70, 30]);
});

test("an update queued behind its create is sent with the id the create's reply gave", async () => {
  const s = createState();
  s.item = /** @type {any} */ ({ media_id: 3 });
  /** @type {any[]} */
  const sent = [];
  const q = new SaveQueue({ request: async (m) => { sent.push(m); return m.op === "create" ? { ok: true, instance_id: 41, version: 1 } : { ok: true, version: 2 }; } });
  const editor = new Editor({ state: s, saves: q, undo: new UndoStack() });
  const b = box();
  editor.apply({ type: "create", insts: [b], name: "draw box" });
  editor.apply({ type: "update", changes: [{ key: b.key, before: snap(b), after: { ...snap(b), label_id: 2 } }], name: "change label" });
  for (let i = 0; i < 5; i++) await tick();
  assert.deepEqual(sent.map((m) => m.op), ["create", "update"]);
  assert.equal(sent[1].instance.id, 41);
  assert.equal(sent[1].instance.version, 1);
  assert.equal(b.id, 41);
  assert.equal(b.version, 2);
});

test("nudges move live and commit as one update (clamped to the image)", () => {
  const { s, sent, editor } = setup();
  const b = box(180, 10, 190, 20);
  editor.apply({ type: "create", insts: [b], name: "draw box" });
  sent.length = 0;
  s.sel = new Set([b.key]);
  /** @type {(() => void)[]} */
  const timers = [];
  const nudge = new Nudge({ state: s, editor, moved: () => {}, setTimer: (f) => timers.push(f), clearTimer: () => {} });
  nudge.by(1, 0);
  nudge.by(10, 0);
  assert.deepEqual(b.box, [190, 10, 200, 20], "clamped at the right edge");
  assert.equal(sent.length, 0);
  assert.equal(nudge.pending, true);
  timers[timers.length - 1]();
  assert.equal(nudge.pending, false);
  assert.equal(sent.length, 1);
  assert.deepEqual(sent[0].instance.box, [190, 10, 200, 20]);
  editor.undoLast();
  assert.deepEqual(b.box, [180, 10, 190, 20]);
});

test("commands: attribute, label, vertex delete and duplicate are undoable steps", () => {
  const { s, sent, editor } = setup();
  s.labelById = new Map([[2, { id: 2, name: "bus", spatial: ["box"] }]]);
  const b = box(), p = newInst({ label_id: 1, kind: "polygon", box: null, points: [[0, 0], [10, 0], [10, 10]] });
  editor.apply({ type: "create", insts: [b, p], name: "x" });
  sent.length = 0;
  const st = withAttr(s, [b.key], "color", "red");
  editor.apply(/** @type {any} */ (st.edit));
  assert.deepEqual(b.attributes, { color: "red" });
  s.sel = new Set([b.key, p.key]);
  const rl = relabel(s, 2);
  assert.equal(rl && rl.edit && rl.edit.type === "update" && rl.edit.changes.length, 1, "the polygon's kind is not allowed for the label");
  s.selVertex = { key: p.key, index: 0 };
  const dv = deleteVertexEdit(s);
  assert.match(/** @type {any} */ (dv).message.text, /at least 3 points/);
  const dup = copiesOf(s);
  assert.equal(dup.edit && dup.edit.type === "create" && dup.edit.insts.length, 2);
  assert.deepEqual(/** @type {any} */ (dup.edit).insts[0].box, [20, 20, 60, 60]);
  assert.equal(sent.length, 1);
});
