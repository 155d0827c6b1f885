// @ts-check
import { test } from "node:test";
import assert from "node:assert/strict";
import { attrVisible, missingRequired, attrsForLabel } from "./attributes.js";

/** @type {import("./types.js").Attribute[]} */
const attrs = [
  { id: 1, name: "pose", kind: "select", options: [{ id: 10, name: "standing" }, { id: 11, name: "sitting" }], required: true, label_ids: [2], parent: null },
  { id: 2, name: "seat", kind: "select", options: [{ id: 20, name: "chair" }], required: true, label_ids: [2], parent: { group_id: 1, option_id: 11 } },
  { id: 3, name: "note", kind: "text", options: [], required: false, label_ids: null, parent: null },
];

test("attributes apply per label", () => {
  assert.deepEqual(attrsForLabel(attrs, 2).map((a) => a.name), ["pose", "seat", "note"]);
  assert.deepEqual(attrsForLabel(attrs, 1).map((a) => a.name), ["note"]);
});

test("a child shows only while its parent option is chosen", () => {
  assert.equal(attrVisible(attrs[1], attrs, {}), false);
  assert.equal(attrVisible(attrs[1], attrs, { pose: "standing" }), false);
  assert.equal(attrVisible(attrs[1], attrs, { pose: "sitting" }), true);
});

test("missing required attributes (hidden children are not required)", () => {
  assert.deepEqual(missingRequired(attrs, { label_id: 2, attributes: {} }), ["pose"]);
  assert.deepEqual(missingRequired(attrs, { label_id: 2, attributes: { pose: "standing" } }), []);
  assert.deepEqual(missingRequired(attrs, { label_id: 2, attributes: { pose: "sitting" } }), ["seat"]);
  assert.deepEqual(missingRequired(attrs, { label_id: 1, attributes: {} }), []);
});
