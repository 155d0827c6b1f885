// @ts-check
import { test } from "node:test";
import assert from "node:assert/strict";
import { View, origToDisplay, displayToOrig, layerPlacement } from "./view.js";

/** @param {number} a @param {number} b */
const close = (a, b, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps, `${a} != ${b}`);

test("screen <-> image round trip", () => {
  const v = new View();
  v.s = 0.37;
  v.tx = 12.5;
  v.ty = -40;
  for (const [x, y] of [[0, 0], [4000, 3000], [123.4, 567.8]]) {
    const [sx, sy] = v.toScreen(x, y);
    const [ix, iy] = v.toImage(sx, sy);
    close(ix, x);
    close(iy, y);
  }
});

test("zoomAt keeps the image point under the cursor fixed", () => {
  const v = new View();
  v.fit(4000, 3000, 1000, 600, 4);
  for (const [sx, sy, f] of [[100, 100, 2], [733, 420, 0.5], [0, 599, 1.1], [500, 300, 17]]) {
    const before = v.toImage(sx, sy);
    v.zoomAt(sx, sy, f);
    const after = v.toImage(sx, sy);
    close(after[0], before[0], 1e-6);
    close(after[1], before[1], 1e-6);
  }
  const s = v.s;
  v.zoomAt(10, 10, 2);
  v.zoomAt(10, 10, 0.5);
  close(v.s, s);
});

test("zoom is clamped and zoomTo sets an absolute scale", () => {
  const v = new View();
  v.zoomAt(0, 0, 1e9);
  assert.equal(v.s, v.maxS);
  v.zoomTo(50, 50, 1);
  assert.equal(v.s, 1);
});

test("fit centers the image and fitBox frames a box", () => {
  const v = new View();
  v.fit(800, 600, 1000, 600, 0);
  assert.equal(v.s, 1);
  assert.equal(v.tx, 100);
  assert.equal(v.ty, 0);
  v.fitBox([100, 100, 200, 150], 1000, 500, 0);
  assert.equal(v.s, 10);
  const [cx, cy] = v.toScreen(150, 125);
  close(cx, 500);
  close(cy, 250);
});

test("display_scale maps exactly both ways (0.25 display px per original px)", () => {
  const s = 0.25;
  assert.equal(origToDisplay(4000, s), 1000);
  assert.equal(displayToOrig(1000, s), 4000);
  for (const x of [0, 1, 333, 3999.75, 12345.5]) close(displayToOrig(origToDisplay(x, s), s), x);
  // a pointer on display pixel 250 of a 1000-px bitmap drawn over 4000 original px at view scale 0.2
  const v = new View();
  v.fit(4000, 3000, 800, 600, 0); // s = 0.2 screen px per original px
  close(v.s, 0.2);
  const [ix] = v.toImage(v.tx + 250 / s * v.s, 0);
  close(ix, 1000);
  close(origToDisplay(ix, s), 250);
});

test("a cached layer placed for a new view lines up with drawing directly", () => {
  const at = { s: 0.25, tx: 10, ty: -20 }, now = { s: 0.61, tx: -130.5, ty: 44 };
  for (const [margin, dpr] of [[0, 1], [128, 1], [200, 2]]) {
    const [dx, dy, k] = layerPlacement(now, at, margin, dpr);
    for (const [x, y] of [[0, 0], [4000, 3000], [1234.5, 77.25]]) {
      // device px of (x, y) inside the layer, then placed: equals the device px drawn at `now`
      const lx = dpr * (x * at.s + at.tx + margin), ly = dpr * (y * at.s + at.ty + margin);
      close(dx + k * lx, dpr * (x * now.s + now.tx), 1e-6);
      close(dy + k * ly, dpr * (y * now.s + now.ty), 1e-6);
    }
  }
});
