import { test } from "node:test";
import assert from "node:assert/strict";
import { layout, visibleRange, hitTest, cellOrigin, scrollToShow, Selection, sortOrder, boxOffsets, fit, ellipsize,
  groupStarts, posAtCell, rowOf, moveRows } from "./grid.js";

test("layout and visible range: only the rows on screen (plus margin)", () => {
  const L = layout(100000, 1002, 160);
  assert.equal(L.cols, 6); // (1002 - 6) / 166
  assert.equal(layout(10, 1001, 160).cols, 5);
  assert.equal(L.rows, Math.ceil(100000 / 6));
  const r = visibleRange(L, 100000, 10 * L.cellH + 5, 500);
  assert.equal(r.firstRow, 10);
  assert.equal(r.first, 60);
  assert.equal(r.last, 6 * (10 + Math.ceil((500 + 5) / L.cellH)));
  const m = visibleRange(L, 100000, 0, 500, 2);
  assert.equal(m.first, 0);
  const end = visibleRange(L, 100000, L.height, 500, 2);
  assert.equal(end.last, 100000);
});

test("hit testing maps points to positions, gaps to -1", () => {
  const L = layout(10, 500, 100);
  assert.equal(hitTest(L, 10, L.pad + 1, L.pad + 1), 0);
  assert.equal(hitTest(L, 10, L.pad + L.cellW + 1, L.pad + L.cellH + 1), L.cols + 1);
  assert.equal(hitTest(L, 10, L.pad + 103, L.pad + 1), -1); // the gap between columns
  assert.equal(hitTest(L, 10, L.pad + 1, L.pad + 5 * L.cellH), -1); // past the end
  const o = cellOrigin(L, L.cols + 1);
  assert.deepEqual(o, { x: L.pad + L.cellW, y: L.pad + L.cellH });
  assert.equal(scrollToShow(L, 0, 300, 200), 0);
  assert.equal(scrollToShow(L, 3 * L.cols, 0, L.cellH), 3 * L.cellH + L.cellH + L.pad - L.cellH);
});

test("selection: click, ctrl toggle, shift range, ctrl+shift adds", () => {
  const order = Uint32Array.from([5, 3, 9, 1, 0, 7]);
  const s = new Selection();
  s.click(1, order);
  assert.deepEqual([...s.items], [3]);
  s.click(4, order, { shift: true });
  assert.deepEqual(s.inOrder(order), [3, 9, 1, 0]);
  s.click(2, order, { toggle: true });
  assert.deepEqual(s.inOrder(order), [3, 1, 0]);
  s.click(0, order, { toggle: true, shift: true }); // from anchor 2 back to 0, added
  assert.deepEqual(s.inOrder(order), [5, 3, 9, 1, 0]);
  s.click(5, order);
  assert.deepEqual(s.inOrder(order), [7]);
  s.selectAll(order);
  assert.equal(s.size, 6);
  s.clear();
  assert.equal(s.size, 0);
});

test("sortOrder: stable, NaN and empty strings last both ways", () => {
  const v = Float64Array.from([3, NaN, 1, 3, 2]);
  assert.deepEqual([...sortOrder(5, v)], [2, 4, 0, 3, 1]);
  assert.deepEqual([...sortOrder(5, v, true)], [0, 3, 4, 2, 1]);
  const s = ["b", "", "a", "b"];
  assert.deepEqual([...sortOrder(4, s)], [2, 0, 3, 1]);
  assert.deepEqual([...sortOrder(4, s, true)], [0, 3, 2, 1]);
  assert.deepEqual([...sortOrder(3, null)], [0, 1, 2]);
});

test("sortOrder handles 100k rows quickly", () => {
  const n = 100000;
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = (i * 7919) % 1000;
  const t0 = performance.now();
  const o = sortOrder(n, v, true);
  const dt = performance.now() - t0;
  for (let k = 1; k < n; k++) assert.ok(v[o[k - 1]] >= v[o[k]]);
  assert.ok(dt < 1000, `sorting took ${dt} ms`);
});

test("boxOffsets, fit, ellipsize", () => {
  assert.deepEqual([...boxOffsets(Int32Array.from([0, 0, 2, 3, 3, 3]), 5)], [0, 2, 2, 3, 6, 6]);
  assert.deepEqual(fit(200, 100, 100), { x: 0, y: 25, w: 100, h: 50, scale: 0.5 });
  assert.equal(ellipsize("abcdef", 4, (t) => t.length), "abc…");
  assert.equal(ellipsize("abc", 4, (t) => t.length), "abc");
});

test("groups start new rows: cells, rows, hit testing and the visible range follow the breaks", () => {
  // 3 columns; groups of sizes 2, 4, 1 in view order → rows [a a .] [b b b] [b . .] [c . .]
  const group = Int32Array.from([0, 0, 1, 1, 1, 1, 2]);
  const order = Uint32Array.from([0, 1, 2, 3, 4, 5, 6]);
  const starts = groupStarts(order, group);
  assert.deepEqual([...starts], [0, 0, 1, 0, 0, 0, 1]);
  const L = layout(7, 6 + 3 * 106, 100, 18, 6, starts);
  assert.equal(L.cols, 3);
  assert.deepEqual(L.slot && [...L.slot], [0, 1, 3, 4, 5, 6, 9]);
  assert.equal(L.rows, 4);
  assert.deepEqual([0, 1, 2, 5, 6].map((p) => rowOf(L, p)), [0, 0, 1, 2, 3]);
  assert.deepEqual(cellOrigin(L, 2), { x: L.pad, y: L.pad + L.cellH });
  assert.equal(hitTest(L, 7, L.pad + 2 * L.cellW + 1, L.pad + 1), -1); // the empty cell ending group 0's row
  assert.equal(hitTest(L, 7, L.pad + 1, L.pad + 3 * L.cellH + 1), 6);
  assert.equal(hitTest(L, 7, L.pad + L.cellW + 1, L.pad + 3 * L.cellH + 1), -1);
  assert.equal(posAtCell(L, 7, 2), 2);
  const r = visibleRange(L, 7, 2 * L.cellH, L.cellH); // only row 2 on screen
  assert.deepEqual([r.first, r.last], [5, 6]);
  // up / down by grid rows: the same column, or the end of a shorter row
  assert.equal(moveRows(L, 7, 1, 1), 3); // column 1 → row 1, column 1
  assert.equal(moveRows(L, 7, 4, 1), 5); // row 1 col 2 → row 2 has only col 0
  assert.equal(moveRows(L, 7, 5, 1), 6);
  assert.equal(moveRows(L, 7, 6, -1), 5);
  assert.equal(moveRows(L, 7, 4, -1), 1); // row 0 ends at column 1
  assert.equal(moveRows(L, 7, 0, -1), 0);
  assert.equal(moveRows(L, 7, 6, 1), 6);
  // a starts array of the wrong length (items not loaded yet) lays out without breaks
  assert.equal(layout(5, 330, 100, 18, 6, starts).slot, null);
  assert.equal(layout(7, 330, 100).rows, 3);
});

test("sortOrder with groups: members re-sorted inside their group, groups keep their rank order", () => {
  const v = Float64Array.from([5, 1, 9, 2, NaN, 0]);
  const g = Int32Array.from([1, 1, 0, 0, 2, 0]);
  assert.deepEqual([...sortOrder(6, v, false, g)], [5, 3, 2, 1, 0, 4]);
  assert.deepEqual([...sortOrder(6, v, true, g)], [2, 3, 5, 0, 1, 4]);
  assert.deepEqual([...sortOrder(6, null, false, g)], [2, 3, 5, 0, 1, 4]);
});
