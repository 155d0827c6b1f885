// @ts-check
import { test } from "node:test";
import assert from "node:assert/strict";

/** @typedef {import("./types.js").Box} Box */
/** @typedef {{key: string, kind: string, box: Box, points?: number[][]}} S */
/** A non-null value (the test fails here otherwise). @template T @param {T | null | undefined} v @returns {T} */
const must = (v) => { assert.ok(v != null); return /** @type {T} */ (v); };
import {
  normBox, clampBox, extentOf, pointInPolygon, distToSegment, nearestVertex, nearestEdge, insertVertex,
  deleteVertex, boxHandles, hitHandle, resizeBox, translateGeom, clampDelta, hitTest, inRect, iou,
} from "./geometry.js";

test("normBox orders corners and clampBox keeps the box inside the image", () => {
  assert.deepEqual(normBox(30, 40, 10, 5), [10, 5, 30, 40]);
  assert.deepEqual(clampBox([-5, 10, 120, 90], 100, 80), [0, 10, 100, 80]);
});

test("extentOf ignores unlabeled keypoints", () => {
  assert.deepEqual(extentOf([[10, 20, 2], [0, 0, 0], [30, 5, 1]]), [10, 5, 30, 20]);
  assert.deepEqual(extentOf([[1, 2], [3, 4]]), [1, 2, 3, 4]);
  assert.deepEqual(extentOf([[0, 0, 0]]), [0, 0, 0, 0]);
});

test("pointInPolygon handles concave shapes", () => {
  const u = [[0, 0], [30, 0], [30, 30], [20, 30], [20, 10], [10, 10], [10, 30], [0, 30]];
  assert.equal(pointInPolygon(5, 20, u), true);
  assert.equal(pointInPolygon(15, 20, u), false); // inside the notch
  assert.equal(pointInPolygon(25, 25, u), true);
  assert.equal(pointInPolygon(35, 5, u), false);
});

test("distToSegment projects and clamps", () => {
  const r = distToSegment(5, 3, 0, 0, 10, 0);
  assert.equal(r.d, 3);
  assert.equal(r.t, 0.5);
  assert.equal(distToSegment(-4, 3, 0, 0, 10, 0).d, 5);
});

test("nearestVertex skips v=0 keypoints; nearestEdge gives the insert position", () => {
  assert.deepEqual(nearestVertex([[0, 0, 0], [10, 10, 2]], 1, 1), { index: 1, d: Math.hypot(9, 9) });
  const sq = [[0, 0], [10, 0], [10, 10], [0, 10]];
  const e = must(nearestEdge(sq, 10.5, 5, true));
  assert.equal(e.index, 2);
  assert.equal(e.x, 10);
  assert.equal(e.y, 5);
  // the closing edge exists only for closed shapes
  assert.equal(must(nearestEdge(sq, -0.5, 5, true)).index, 4);
  assert.notEqual(must(nearestEdge(sq, -0.5, 5, false)).index, 4);
});

test("polygon vertex insert and delete (never below the minimum)", () => {
  const tri = [[0, 0], [10, 0], [5, 8]];
  const quad = insertVertex(tri, 1, [5, -2]);
  assert.deepEqual(quad, [[0, 0], [5, -2], [10, 0], [5, 8]]);
  assert.deepEqual(tri.length, 3, "insert does not mutate");
  assert.deepEqual(deleteVertex(quad, 1), tri);
  assert.equal(deleteVertex(tri, 0), null);
  assert.deepEqual(deleteVertex([[0, 0], [1, 1], [2, 2]], 1, 2), [[0, 0], [2, 2]]);
});

test("eight box handles; hitHandle picks the closest within tolerance", () => {
  /** @type {Box} */
  const b = [10, 20, 110, 220];
  const hs = boxHandles(b);
  assert.equal(hs.length, 8);
  assert.deepEqual(hs.find((h) => h.name === "se"), { name: "se", x: 110, y: 220 });
  assert.deepEqual(hs.find((h) => h.name === "n"), { name: "n", x: 60, y: 20 });
  assert.equal(hitHandle(b, 112, 218, 4), "se");
  assert.equal(hitHandle(b, 60, 21, 4), "n");
  assert.equal(hitHandle(b, 60, 120, 4), null);
});

test("resizeBox moves only the dragged sides and normalizes a flip", () => {
  /** @type {Box} */
  const b = [10, 20, 110, 220];
  assert.deepEqual(resizeBox(b, "se", 5, -10), [10, 20, 115, 210]);
  assert.deepEqual(resizeBox(b, "w", 20, 50), [30, 20, 110, 220]);
  assert.deepEqual(resizeBox(b, "n", 0, 300), [10, 220, 110, 320]);
});

test("translateGeom moves boxes and points but not unlabeled keypoints; clampDelta stays in the image", () => {
  const g = translateGeom({ box: [0, 0, 10, 10], points: [[1, 1, 2], [0, 0, 0]] }, 5, 6);
  assert.deepEqual(g, { box: [5, 6, 15, 16], points: [[6, 7, 2], [0, 0, 0]] });
  assert.deepEqual(clampDelta(/** @type {Box} */ ([10, 10, 50, 50]), -30, 70, 100, 100), [-10, 50]);
});

test("hitTest prefers points and the smallest containing area; inRect needs full containment", () => {
  /** @type {S} */
  const big = { key: "big", kind: "box", box: [0, 0, 100, 100] };
  /** @type {S} */
  const small = { key: "small", kind: "box", box: [40, 40, 60, 60] };
  /** @type {S} */
  const poly = { key: "poly", kind: "polygon", points: [[70, 70], [90, 70], [80, 90]], box: [70, 70, 90, 90] };
  /** @type {S} */
  const pt = { key: "pt", kind: "point", points: [[50, 50]], box: [50, 50, 50, 50] };
  /** @type {S} */
  const line = { key: "line", kind: "line", points: [[0, 95], [100, 95]], box: [0, 95, 100, 95] };
  const all = [big, small, poly, pt, line];
  assert.equal(must(hitTest(all, 45, 45, 2)).key, "small");
  assert.equal(must(hitTest(all, 51, 50, 2)).key, "pt");
  assert.equal(must(hitTest(all, 80, 75, 2)).key, "poly");
  assert.equal(must(hitTest(all, 10, 96, 2)).key, "line");
  assert.equal(must(hitTest(all, 10, 10, 2)).key, "big");
  assert.equal(hitTest(all, 200, 200, 2), null);
  assert.deepEqual(inRect(all, [30, 30, 95, 95]).map((i) => i.key), ["small", "poly", "pt"]);
});

test("iou", () => {
  assert.equal(iou([0, 0, 10, 10], [0, 0, 10, 10]), 1);
  assert.equal(iou([0, 0, 10, 10], [20, 20, 30, 30]), 0);
  assert.ok(Math.abs(iou([0, 0, 10, 10], [5, 0, 15, 10]) - 1 / 3) < 1e-12);
});
