// @ts-check
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { matchRank, rankLabels, pushRecent, cleanRecent, quickLabels, usesPicker, drawable, PICKER_THRESHOLD, RECENT_MAX } from "./picker.js";

// the 80 COCO classes, from the repo's COCO sample (ids 1..80 in file order)
const coco = JSON.parse(readFileSync(new URL("../../tests/data/coco21/instances.json", import.meta.url), "utf8"));
/** @type {import("./types.js").Label[]} */
const COCO = coco.categories.map((/** @type {{name: string}} */ c, /** @type {number} */ i) => ({ id: i + 1, name: c.name, spatial: ["box", "polygon"] }));
/** @param {import("./types.js").Label[]} ls */
const names = (ls) => ls.map((l) => l.name);
const idOf = (/** @type {string} */ n) => /** @type {import("./types.js").Label} */ (COCO.find((l) => l.name === n)).id;

test("match ranks: exact < prefix < word start < substring; case-insensitive; -1 when absent", () => {
  assert.equal(matchRank("car", "car"), 0);
  assert.equal(matchRank("Car", "car"), 0);
  assert.equal(matchRank("carrot", "car"), 1);
  assert.equal(matchRank("Traffic Light", "light"), 2);
  assert.equal(matchRank("hair_drier", "drier"), 2);
  assert.equal(matchRank("t-shirt", "shirt"), 2);
  assert.equal(matchRank("skateboard", "board"), 3);
  assert.equal(matchRank("skateboard", "xyz"), -1);
  assert.equal(matchRank("anything", ""), 3);
  // a later occurrence at a word start counts even when an earlier one is inside a word
  assert.equal(matchRank("bat baseball bat", "ball bat"), 3);
  assert.equal(matchRank("snowball ball", "ball"), 2);
});

test("COCO 'tra': the two prefixes in schema order (train, traffic light), nothing else", () => {
  assert.deepEqual(names(rankLabels(COCO, "tra")), ["train", "traffic light"]);
  assert.deepEqual(names(rankLabels(COCO, "TRA")), ["train", "traffic light"]);
  assert.deepEqual(names(rankLabels(COCO, "  tra ")), ["train", "traffic light"]);
});

test("COCO rankings mix the tiers best first", () => {
  // 'ba': the prefixes in schema order, then a word start ("sports ball"), then a substring ("handbag")
  assert.deepEqual(names(rankLabels(COCO, "ba")), ["backpack", "baseball bat", "baseball glove", "banana", "sports ball", "handbag"]);
  assert.deepEqual(names(rankLabels(COCO, "car")), ["car", "carrot"]);
  // word start beats substring: "ball" starts a word in "sports ball"; a substring in "baseball bat"
  assert.deepEqual(names(rankLabels(COCO, "ball")), ["sports ball", "baseball bat", "baseball glove"]);
  assert.deepEqual(names(rankLabels(COCO, "light")), ["traffic light"]);
  assert.deepEqual(rankLabels(COCO, "no such label"), []);
});

test("within a rank the recent labels come first, most recent first; an empty query lists all", () => {
  const recent = [idOf("traffic light")];
  assert.deepEqual(names(rankLabels(COCO, "tra", recent)), ["traffic light", "train"]);
  // recency never lifts a worse match over a better one
  assert.deepEqual(names(rankLabels(COCO, "ball", [idOf("baseball glove")])), ["sports ball", "baseball glove", "baseball bat"]);
  const all = rankLabels(COCO, "", [idOf("dog"), idOf("cat")]);
  assert.equal(all.length, 80);
  assert.deepEqual(names(all.slice(0, 4)), ["dog", "cat", "person", "bicycle"]);
});

test("recent list: the last one used first, each once, at most nine", () => {
  let r = /** @type {number[]} */ ([]);
  for (const id of [1, 2, 3, 2]) r = pushRecent(r, id);
  assert.deepEqual(r, [2, 3, 1]);
  for (let id = 10; id < 20; id++) r = pushRecent(r, id);
  assert.equal(r.length, RECENT_MAX);
  assert.deepEqual(r, [19, 18, 17, 16, 15, 14, 13, 12, 11]);
  assert.deepEqual(pushRecent(r, 15).slice(0, 3), [15, 19, 18]);
});

test("recent list from the synced state: only existing drawable labels, each once", () => {
  const labels = [...COCO.slice(0, 12), { id: 99, name: "night", spatial: ["tag"] }];
  assert.deepEqual(cleanRecent([3, 3, 500, 99, "x", 1, null], labels), [3, 1]);
  assert.deepEqual(cleanRecent(undefined, labels), []);
  assert.deepEqual(cleanRecent({ 0: 1 }, labels), []);
  assert.equal(cleanRecent(COCO.map((l) => l.id), COCO).length, RECENT_MAX);
});

test("quick labels (keys 1–9, chips): recent first, then the first labels in schema order", () => {
  assert.deepEqual(quickLabels(COCO, []).map((l) => l.id), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(quickLabels(COCO, [40, 3]).map((l) => l.id), [40, 3, 1, 2, 4, 5, 6, 7, 8]);
  const tagsFirst = [{ id: 90, name: "night", spatial: ["tag"] }, ...COCO.slice(0, 3)];
  assert.deepEqual(quickLabels(tagsFirst, []).map((l) => l.id), [1, 2, 3]);
});

test("the picker replaces the chips past PICKER_THRESHOLD drawable labels (tags not counted)", () => {
  assert.equal(PICKER_THRESHOLD, 10);
  assert.equal(usesPicker(COCO.slice(0, 10)), false);
  assert.equal(usesPicker(COCO.slice(0, 11)), true);
  const tags = Array.from({ length: 20 }, (_, i) => ({ id: 200 + i, name: `t${i}`, spatial: ["tag"] }));
  assert.equal(usesPicker([...COCO.slice(0, 5), ...tags]), false);
  assert.equal(drawable([...COCO.slice(0, 5), ...tags]).length, 5);
});

test("state: a pick moves the label onto key 1 and the chips; a schema without it drops it", async () => {
  const { createState, applySchema, useLabel, setRecent } = await import("./state.js");
  const s = createState();
  applySchema(s, { version: 1, labels: COCO, attributes: [] });
  assert.equal(s.labelKeys.get("1"), 1);
  assert.equal(useLabel(s, idOf("traffic light")), true);
  assert.equal(useLabel(s, idOf("traffic light")), false); // already the most recent: nothing to sync
  assert.equal(useLabel(s, idOf("dog")), true);
  assert.deepEqual(s.recent, [idOf("dog"), idOf("traffic light")]);
  assert.equal(s.labelKeys.get("1"), idOf("dog"));
  assert.equal(s.labelKeys.get("2"), idOf("traffic light"));
  assert.equal(s.labelKeys.get("3"), 1);
  applySchema(s, { version: 2, labels: COCO.filter((l) => l.name !== "dog"), attributes: [] });
  assert.deepEqual(s.recent, [idOf("traffic light")]);
  setRecent(s, [idOf("cat"), 12345]);
  assert.deepEqual(s.recent, [idOf("cat")]);
  assert.equal(s.labelKeys.get("1"), idOf("cat"));
});
