import { test } from "node:test";
import assert from "node:assert/strict";
import { GridState } from "./state.js";
import { keyCommand } from "./keys.js";

/** Just the columns GridState reads: media ids and one sortable column. */
const items = (score) => ({ n: score.length, mediaIds: Float64Array.from(score, (_, i) => 100 + i),
  items: { score: Float64Array.from(score) } });

test("sorting keeps the selection, its anchor and the focused item", () => {
  const d = items([3, 1, 2, NaN]);
  const s = new GridState();
  s.reset(d.n);
  assert.deepEqual([...s.order], [0, 1, 2, 3]);
  s.click(0); // item 0
  s.click(2, { shift: true }); // items 0..2
  assert.deepEqual(s.selectedIds(d), [100, 101, 102]);
  s.sortBy(d, "score");
  assert.equal(s.sort, "score");
  assert.deepEqual([...s.order], [1, 2, 0, 3]);
  assert.equal(s.focus, 1); // item 2 is at position 1 now
  assert.equal(s.item(s.focus), 2);
  assert.deepEqual(s.selectedIds(d), [101, 102, 100]); // view order
  assert.equal(s.sel.anchor, 2); // item 0's new position
  s.sortBy(d, "-score");
  assert.deepEqual([...s.order], [0, 2, 1, 3]); // NaN last both ways
  s.sortBy(d, "");
  assert.deepEqual([...s.order], [0, 1, 2, 3]);
  s.reset(2);
  assert.equal(s.n, 2);
  assert.equal(s.selectedCount, 0);
  assert.equal(s.focus, -1);
});

test("moving the focus clamps it; with shift it selects from the anchor", () => {
  const d = items([0, 0, 0, 0, 0, 0]);
  const s = new GridState();
  s.reset(d.n);
  assert.deepEqual(s.moveFocus(-5), { focus: 0, selected: false });
  assert.deepEqual(s.moveFocus(99), { focus: 5, selected: false });
  assert.equal(s.selectedCount, 0);
  s.moveFocus(1);
  assert.deepEqual(s.moveFocus(3, { shift: true }), { focus: 3, selected: true }); // anchor = the old focus
  assert.deepEqual(s.selectedIds(d), [101, 102, 103]);
  assert.ok(s.toggleFocused());
  assert.deepEqual(s.selectedIds(d), [101, 102]);
  s.selectAll();
  assert.equal(s.selectedCount, 6);
  s.clear();
  assert.equal(s.selectedCount, 0);
  const t = new GridState();
  t.reset(3);
  assert.equal(t.toggleFocused(), false); // nothing focused
});

test("keys: arrows, pages, ends, and the commands", () => {
  const g = { focus: 7, cols: 5, rowsPerPage: 3, n: 40 };
  assert.deepEqual(keyCommand({ key: "ArrowRight" }, g), { move: 8 });
  assert.deepEqual(keyCommand({ key: "ArrowLeft" }, g), { move: 6 });
  assert.deepEqual(keyCommand({ key: "ArrowDown" }, g), { move: 12 });
  assert.deepEqual(keyCommand({ key: "ArrowUp" }, g), { move: 2 });
  assert.deepEqual(keyCommand({ key: "PageDown" }, g), { move: 22 });
  assert.deepEqual(keyCommand({ key: "PageUp" }, g), { move: -8 }); // clamped by the state
  assert.deepEqual(keyCommand({ key: "Home" }, g), { move: 0 });
  assert.deepEqual(keyCommand({ key: "End" }, g), { move: 39 });
  assert.deepEqual(keyCommand({ key: "ArrowDown" }, { ...g, focus: -1 }), { move: 5 }); // from the first item
  assert.deepEqual(keyCommand({ key: "PageDown" }, { ...g, rowsPerPage: 0 }), { move: 12 }); // at least a row
  assert.deepEqual(keyCommand({ key: " " }, g), { command: "toggle" });
  assert.equal(keyCommand({ key: " " }, { ...g, focus: -1 }), null);
  assert.deepEqual(keyCommand({ key: "Enter" }, g), { command: "open" });
  assert.equal(keyCommand({ key: "Enter" }, { ...g, focus: -1 }), null);
  assert.deepEqual(keyCommand({ key: "Escape" }, g), { command: "clear" });
  assert.deepEqual(keyCommand({ key: "a", ctrlKey: true }, g), { command: "all" });
  assert.deepEqual(keyCommand({ key: "A", metaKey: true }, g), { command: "all" });
  assert.equal(keyCommand({ key: "a" }, g), null);
  assert.equal(keyCommand({ key: "x" }, g), null);
});
