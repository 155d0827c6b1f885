// @ts-check
import { test } from "node:test";
import assert from "node:assert/strict";
import { keyName, resolveKey, labelKeymap, SHORTCUTS } from "./hotkeys.js";

/** @param {string} key @param {object} [mods] */
const ev = (key, mods = {}) => ({ key, ctrlKey: false, metaKey: false, altKey: false, shiftKey: false, ...mods });
const labels = [{ id: 7, name: "a" }, { id: 8, name: "b", hotkey: "q" }, { id: 9, name: "c" }];
const ctx = (o = {}) => ({ drawing: null, hasSelection: false, mode: "label", labelKeys: labelKeymap(labels), ...o });

test("keyName normalizes modifiers and letters", () => {
  assert.equal(keyName(ev("s")), "S");
  assert.equal(keyName(ev("S", { shiftKey: true })), "Shift+S");
  assert.equal(keyName(ev("z", { ctrlKey: true })), "Ctrl+Z");
  assert.equal(keyName(ev("Z", { metaKey: true, shiftKey: true })), "Ctrl+Shift+Z");
  assert.equal(keyName(ev("?", { shiftKey: true })), "?");
  assert.equal(keyName(ev(" ")), "Space");
  assert.equal(keyName(ev("ArrowLeft", { shiftKey: true })), "Shift+ArrowLeft");
});

test("label keys: hotkey when set, else the position digit", () => {
  const m = labelKeymap(labels);
  assert.equal(m.get("1"), 7);
  assert.equal(m.get("Q"), 8);
  assert.equal(m.get("3"), 9);
  assert.equal(m.has("2"), false);
});

test("tools, labels, undo, navigation", () => {
  assert.deepEqual(resolveKey("B", ctx()), { action: "tool", arg: "box" });
  assert.deepEqual(resolveKey("P", ctx()), { action: "tool", arg: "polygon" });
  assert.deepEqual(resolveKey("V", ctx()), { action: "tool", arg: "select" });
  assert.deepEqual(resolveKey("1", ctx()), { action: "label", arg: 7 });
  assert.deepEqual(resolveKey("Q", ctx()), { action: "label", arg: 8 });
  assert.deepEqual(resolveKey("Ctrl+Z", ctx()), { action: "undo" });
  assert.deepEqual(resolveKey("Ctrl+Y", ctx()), { action: "redo" });
  assert.deepEqual(resolveKey("Ctrl+Shift+Z", ctx()), { action: "redo" });
  assert.deepEqual(resolveKey("ArrowRight", ctx()), { action: "next" });
  assert.deepEqual(resolveKey("N", ctx()), { action: "next" });
  assert.deepEqual(resolveKey("ArrowLeft", ctx()), { action: "prev" });
  assert.deepEqual(resolveKey("Shift+S", ctx()), { action: "skip" });
  assert.deepEqual(resolveKey("?", ctx()), { action: "help" });
  assert.equal(resolveKey("J", ctx()), null);
});

test("context: arrows nudge a selection; Enter finishes a drawing instead of completing", () => {
  assert.deepEqual(resolveKey("ArrowRight", ctx({ hasSelection: true })), { action: "nudge", arg: [1, 0] });
  assert.deepEqual(resolveKey("Shift+ArrowUp", ctx({ hasSelection: true })), { action: "nudge", arg: [0, -10] });
  assert.deepEqual(resolveKey("Enter", ctx()), { action: "complete" });
  assert.deepEqual(resolveKey("C", ctx()), { action: "complete" });
  assert.deepEqual(resolveKey("Enter", ctx({ drawing: "polygon" })), { action: "finish_drawing" });
  assert.deepEqual(resolveKey("Escape", ctx({ drawing: "line" })), { action: "cancel_drawing" });
  assert.deepEqual(resolveKey("V", ctx({ drawing: "keypoints" })), { action: "kp_not_visible" });
  assert.deepEqual(resolveKey("N", ctx({ drawing: "keypoints" })), { action: "kp_skip" });
  assert.deepEqual(resolveKey("A", ctx()), { action: "accept" });
  assert.deepEqual(resolveKey("A", ctx({ mode: "review" })), { action: "verdict", arg: "accept_pred" });
  assert.deepEqual(resolveKey("Y", ctx({ mode: "review" })), { action: "verdict", arg: "confirm_gt" });
});

test("every shortcut is documented for the ? overlay", () => {
  const text = SHORTCUTS.map((s) => s.join(" ")).join("\n");
  for (const k of ["Ctrl+Z", "Ctrl+D", "Shift+S", "Shift+C", "?", "Esc", "Delete"]) assert.ok(text.includes(k), k);
});

test("/ opens the label picker, also while drawing", () => {
  assert.deepEqual(resolveKey("/", ctx()), { action: "picker" });
  assert.deepEqual(resolveKey("/", ctx({ drawing: "polygon" })), { action: "picker" });
  assert.ok(SHORTCUTS.some(([k]) => k === "/"));
});

test("many labels: keys 1–9 are the recent labels, then schema order; digit hotkeys give way, others stay", () => {
  // the store gives labels 1–9 the hotkeys "1".."9" by default; label 12 has its own letter
  const many = Array.from({ length: 20 }, (_, i) => ({ id: i + 1, name: `l${i + 1}`, spatial: ["box"], hotkey: i < 9 ? String(i + 1) : i === 11 ? "j" : null }));
  const m0 = labelKeymap(many);
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 9].map((d) => m0.get(String(d))), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(m0.get("J"), 12);
  const m = labelKeymap(many, [15, 2, 20]);
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 9].map((d) => m.get(String(d))), [15, 2, 20, 1, 3, 4, 5, 6, 7]);
  assert.equal(m.get("J"), 12);
  assert.equal(m.has("0"), false);
  assert.deepEqual(resolveKey("1", { drawing: null, hasSelection: false, labelKeys: m }), { action: "label", arg: 15 });
  // ten or fewer labels: the recent list changes nothing
  assert.deepEqual(labelKeymap(labels, [9, 7]), labelKeymap(labels));
});
