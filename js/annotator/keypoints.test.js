// @ts-check
import { test } from "node:test";
import assert from "node:assert/strict";
import { KeypointPlacer } from "./keypoints.js";

test("points are placed in template order with visibility flags", () => {
  const k = new KeypointPlacer(["head", "left", "right", "tail"]);
  assert.equal(k.nextName, "head");
  k.place(10, 20);
  k.markNotVisible();
  assert.equal(k.nextName, "left");
  k.place(30, 40);
  k.skip();
  assert.equal(k.nextName, "tail");
  assert.equal(k.done, false);
  k.place(50, 60);
  assert.equal(k.done, true);
  assert.equal(k.nextName, null);
  assert.deepEqual(k.result(), [[10, 20, 2], [30, 40, 1], [0, 0, 0], [50, 60, 2]]);
  assert.equal(k.labeled, 3);
  k.place(1, 1); // ignored when done
  assert.equal(k.result().length, 4);
});

test("not-visible applies to one point only", () => {
  const k = new KeypointPlacer(["a", "b"]);
  k.markNotVisible();
  k.place(1, 2);
  k.place(3, 4);
  assert.deepEqual(k.result(), [[1, 2, 1], [3, 4, 2]]);
});
