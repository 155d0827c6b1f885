// @ts-check
import { test } from "node:test";
import assert from "node:assert/strict";
import { createState, applySchema } from "./state.js";
import { fromServer } from "./instances.js";
import { toolFor } from "./tools/index.js";
import { startPan } from "./tools/pan.js";

/** A state with an item of 200 x 100 px, view 1:1, two labels (one with a 3-point template). */
/** @param {string} [tool] */
function scene(tool = "box") {
  const s = createState();
  applySchema(s, {
    labels: [
      { id: 1, name: "car", spatial: ["box", "polygon", "line", "point"] },
      { id: 2, name: "person", spatial: ["keypoints"], keypoints: { points: ["nose", "left", "right"] } },
    ],
  });
  s.item = /** @type {any} */ ({ index: 0, media_id: 7, width: 200, height: 100 });
  s.index = 0;
  s.W = 200;
  s.H = 100;
  s.tool = /** @type {any} */ (tool);
  return s;
}

/** @typedef {import("./state.js").State} State */

/**
 * A pointer context at image (x, y); screen = image at view 1:1.
 * @param {number} x @param {number} y @param {{shift?: boolean}} [o]
 */
const at = (x, y, o = {}) => ({ x, y, ux: x, uy: y, sx: x, sy: y, tol: 6, shift: false, alt: false, ...o });

// The handlers of the tool that owns the mode. Steps are loose here (`any`): the assertions check them.
/** @param {State} s @param {number} x @param {number} y @param {{shift?: boolean}} [o] @returns {any} */
const down = (s, x, y, o) => /** @type {any} */ (toolFor(s)).down(s, at(x, y, o));
/** @param {State} s @param {number} x @param {number} y @returns {any} */
const move = (s, x, y) => /** @type {any} */ (toolFor(s)).move(s, at(x, y));
/** @param {State} s @param {number} x @param {number} y @returns {any} */
const up = (s, x, y) => /** @type {any} */ (toolFor(s)).up(s, at(x, y), false);
/** @param {State} s @param {string} action @returns {any} */
const key = (s, action) => /** @type {any} */ (toolFor(s)).key(s, action);

/**
 * Feed a down / moves / up through whichever tool owns the mode, applying only the mode changes.
 * @param {State} s @param {[number, number][]} points @param {(st: any) => void} [apply] @returns {any[]}
 */
function gesture(s, points, apply = () => {}) {
  /** @type {any[]} */
  const steps = [];
  /** @param {any} st */
  const run = (st) => { if (st) { steps.push(st); if (st.mode) s.mode = st.mode; apply(st); } };
  const [first, ...rest] = points;
  run(down(s, ...first));
  for (const p of rest) if (toolFor(s).move) run(move(s, ...p));
  const last = points[points.length - 1];
  if (toolFor(s).up) run(up(s, ...last));
  return steps;
}

/** Put instances into the state (as the loader does). @param {State} s @param {any[]} wire */
function withInsts(s, ...wire) {
  return wire.map((w) => { const i = fromServer({ id: 1, version: 1, label_id: 1, attributes: {}, ...w }); s.inst.set(i.key, i); return i; });
}

/** Apply live geometry like the editor does. @param {State} s */
const applyLive = (s) => (/** @type {any} */ st) => {
  if (st.edit && st.edit.type === "live") for (const [k, g] of st.edit.geoms) Object.assign(/** @type {object} */ (s.inst.get(k)), g);
};

test("box tool: down / move / up returns one create edit with the dragged box, selected", () => {
  const s = scene("box");
  const steps = gesture(s, [[10, 20], [30, 40], [50, 60]]);
  assert.equal(steps[0].mode.type, "draw_box");
  assert.deepEqual([steps[1].mode.x1, steps[1].mode.y1], [30, 40]);
  const last = steps[steps.length - 1];
  assert.equal(last.edit.type, "create");
  assert.equal(last.edit.insts.length, 1);
  const inst = last.edit.insts[0];
  assert.deepEqual(inst.box, [10, 20, 50, 60]);
  assert.equal(inst.kind, "box");
  assert.equal(inst.label_id, 1);
  assert.deepEqual(last.select, [inst.key]);
  assert.equal(s.mode.type, "idle");
  assert.equal(steps.filter((x) => x.edit).length, 1, "only the release edits");
});

test("box tool: dragged up-left is normalised and clamped to the image; a click selects, a sliver is dropped", () => {
  const s = scene("box");
  const rel = gesture(s, [[150, 80], [250, 90]]).pop(); // pointer values are clamped by the caller; the tool clamps the box too
  assert.deepEqual(rel.edit.insts[0].box, [150, 80, 200, 90]);
  const [b] = withInsts(s, { kind: "box", box: [0, 0, 100, 100] });
  const click = gesture(s, [[40, 40], [41, 41]]).pop();
  assert.equal(click.edit, undefined);
  assert.deepEqual(click.select, [b.key]);
  const sliver = gesture(s, [[120, 10], [120.5, 60]]).pop();
  assert.equal(sliver.edit, undefined);
});

test("polygon tool: clicks add vertices, a click on the first vertex closes it into one create", () => {
  const s = scene("polygon");
  for (const [x, y] of [[10, 10], [90, 10], [90, 80]]) s.mode = down(s, x, y).mode;
  assert.equal(s.mode.type, "draw_path");
  assert.equal(s.mode.type === "draw_path" && s.mode.pts.length, 3);
  const close = down(s, 13, 12); // within 8 screen px of the first vertex
  assert.equal(close.edit.type, "create");
  assert.deepEqual(close.edit.insts[0].points, [[10, 10], [90, 10], [90, 80]]);
  assert.deepEqual(close.edit.insts[0].box, [10, 10, 90, 80]);
  assert.equal(close.mode.type, "idle");
});

test("polygon tool: near the first vertex with < 3 vertices adds one; Backspace removes the last; Esc cancels", () => {
  const s = scene("polygon");
  s.mode = down(s, 10, 10).mode;
  s.mode = down(s, 60, 10).mode;
  const near = down(s, 12, 12);
  assert.equal(near.edit, undefined);
  assert.equal(near.mode.pts.length, 3);
  s.mode = near.mode;
  const back = key(s, "undo_point");
  assert.equal(back.mode.pts.length, 2);
  assert.equal(key(s, "cancel_drawing").mode.type, "idle");
});

test("line tool: Enter with one vertex is refused with a message; with two it creates a line", () => {
  const s = scene("line");
  s.mode = down(s, 10, 10).mode;
  const refused = key(s, "finish_drawing");
  assert.equal(refused.edit, undefined);
  assert.match(refused.message.text, /at least 2 points/);
  assert.equal(refused.mode, undefined, "keeps drawing");
  s.mode = down(s, 100, 50).mode;
  const done = key(s, "finish_drawing");
  assert.equal(done.edit.insts[0].kind, "line");
  assert.deepEqual(done.edit.insts[0].points, [[10, 10], [100, 50]]);
});

test("keypoints tool: template order, a pre-mark and a skip; the last point finishes", () => {
  const s = scene("keypoints");
  s.labelId = 2;
  s.pendingKp = ["v"];
  const first = down(s, 10, 10);
  assert.equal(first.mode.type, "draw_keypoints");
  assert.equal(first.pendingKp, null);
  s.mode = first.mode;
  const skipped = key(s, "kp_skip");
  s.mode = skipped.mode;
  assert.equal(first.mode.placer.next, 1, "the returned mode is a new placer; the old one is unchanged");
  const last = down(s, 30, 40);
  assert.equal(last.edit.type, "create");
  assert.deepEqual(last.edit.insts[0].points, [[10, 10, 1], [0, 0, 0], [30, 40, 2]]);
  assert.deepEqual(last.edit.insts[0].box, [10, 10, 30, 40]);
});

test("keypoints tool: a label without a template says so", () => {
  const s = scene("keypoints");
  const st = down(s, 10, 10);
  assert.match(st.message.text, /no keypoint template/);
  assert.equal(st.mode, undefined);
});

test("point tool: a click creates a point at the down position", () => {
  const s = scene("point");
  const rel = gesture(s, [[20, 30]]).pop();
  assert.deepEqual(rel.edit.insts[0].points, [[20, 30]]);
  assert.deepEqual(rel.edit.insts[0].box, [20, 30, 20, 30]);
});

test("select tool: drag a selected box: live moves clamped to the image, one update on release", () => {
  const s = scene("select");
  const [b] = withInsts(s, { kind: "box", box: [150, 10, 190, 50] });
  s.sel = new Set([b.key]);
  const steps = gesture(s, [[160, 20], [161, 20], [200, 30], [220, 30]], applyLive(s));
  assert.equal(steps[0].mode.type, "move");
  assert.equal(steps.length, 4, "the 1 px move is below the drag threshold: no step");
  assert.deepEqual(steps[2].edit.geoms.get(b.key).box, [160, 20, 200, 60], "clamped at the right edge");
  const rel = steps[3];
  assert.equal(rel.edit.type, "update");
  assert.equal(rel.edit.name, "move");
  assert.deepEqual(rel.edit.changes[0].before.box, [150, 10, 190, 50]);
  assert.deepEqual(rel.edit.changes[0].after.box, [160, 20, 200, 60]);
});

test("select tool: a click (no drag) on a selected box puts it back and edits nothing", () => {
  const s = scene("select");
  const [b] = withInsts(s, { kind: "box", box: [10, 10, 50, 50] });
  s.sel = new Set([b.key]);
  const rel = gesture(s, [[30, 30], [31, 30]]).pop();
  assert.equal(rel.edit.type, "live");
  assert.deepEqual(rel.edit.geoms.get(b.key).box, [10, 10, 50, 50]);
});

test("select tool: the handle of the single selected box resizes it", () => {
  const s = scene("select");
  const [b] = withInsts(s, { kind: "box", box: [10, 10, 50, 50] });
  s.sel = new Set([b.key]);
  const steps = gesture(s, [[50, 50], [70, 80]], applyLive(s));
  assert.equal(steps[0].mode.type, "resize");
  assert.equal(steps[0].mode.handle, "se");
  const rel = steps.pop();
  assert.equal(rel.edit.name, "resize");
  assert.deepEqual(rel.edit.changes[0].after.box, [10, 10, 70, 80]);
});

test("select tool: a click on the edge of the selected polygon inserts a vertex (one update)", () => {
  const s = scene("select");
  const [p] = withInsts(s, { kind: "polygon", box: null, points: [[10, 10], [90, 10], [90, 90]] });
  s.sel = new Set([p.key]);
  const steps = gesture(s, [[50, 10]], applyLive(s));
  assert.equal(steps[0].mode.type, "vertex");
  assert.equal(steps[0].mode.inserted, true);
  assert.deepEqual(steps[0].selVertex, { key: p.key, index: 1 });
  const rel = steps.pop();
  assert.equal(rel.edit.name, "insert vertex");
  assert.deepEqual(rel.edit.changes[0].after.points, [[10, 10], [50, 10], [90, 10], [90, 90]]);
  assert.deepEqual(rel.edit.changes[0].before.points, [[10, 10], [90, 10], [90, 90]]);
});

test("select tool: a rubber band selects what lies inside; Shift keeps the selection", () => {
  const s = scene("select");
  const [a, b] = withInsts(s, { kind: "box", box: [10, 10, 20, 20] }, { kind: "box", box: [100, 10, 120, 20] });
  const rel = gesture(s, [[0, 0], [30, 30]]).pop();
  assert.deepEqual(rel.select, [a.key]);
  s.sel = new Set([a.key]);
  s.mode = down(s, 90, 5, { shift: true }).mode;
  s.mode = move(s, 130, 30).mode;
  const add = up(s, 130, 30);
  assert.deepEqual(new Set(add.select), new Set([a.key, b.key]));
});

test("pan interrupts a drawing and returns to it", () => {
  const s = scene("polygon");
  s.mode = down(s, 10, 10).mode;
  const drawing = s.mode;
  s.view.tx = 5;
  s.mode = /** @type {any} */ (startPan(s, at(100, 100))).mode;
  assert.equal(s.mode.type, "pan");
  assert.deepEqual(move(s, 110, 90).pan, { tx: 15, ty: -10 });
  assert.equal(up(s, 110, 90).mode, drawing);
});
