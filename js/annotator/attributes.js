// @ts-check
// Attribute logic (pure) + the panel built from schema.attributes (DOM via textContent / value only).
import { h } from "../shared/dom.js";

/** @typedef {import("./types.js").Attribute} Attribute */
/** @typedef {import("./types.js").Attrs} Attrs */

/** @param {unknown} v */
export function isEmpty(v) {
  return v === undefined || v === null || v === "" || (Array.isArray(v) && v.length === 0);
}

/** Attributes that apply to a label id. @param {Attribute[] | null | undefined} attrs @param {number | null} labelId @returns {Attribute[]} */
export function attrsForLabel(attrs, labelId) {
  return (attrs || []).filter((a) => !a.label_ids || (labelId != null && a.label_ids.includes(labelId)));
}

/**
 * Is attribute `a` shown given the instance's values (its parent option chosen)?
 * @param {Attribute} a @param {Attribute[]} attrs @param {Attrs} values @returns {boolean}
 */
export function attrVisible(a, attrs, values) {
  if (!a.parent) return true;
  const ref = a.parent;
  const parent = attrs.find((p) => p.id === ref.group_id);
  if (!parent) return true;
  if (!attrVisible(parent, attrs, values)) return false;
  const opt = (parent.options || []).find((o) => o.id === ref.option_id);
  if (!opt) return false;
  const v = values[parent.name];
  return Array.isArray(v) ? v.includes(opt.name) : v === opt.name;
}

/**
 * Names of required, shown attributes with no value on this instance.
 * @param {Attribute[]} attrs @param {{label_id: number | null, attributes?: Attrs}} inst @returns {string[]}
 */
export function missingRequired(attrs, inst) {
  const vals = inst.attributes || {};
  const list = attrsForLabel(attrs, inst.label_id);
  return list.filter((a) => a.required && attrVisible(a, list, vals) && isEmpty(vals[a.name])).map((a) => a.name);
}

let uid = 0;

/**
 * Build the attribute controls for the selected instances into `box`.
 * onChange(name, value) is called once per committed edit.
 * @param {HTMLElement} box @param {Attribute[]} attrs
 * @param {{label_id: number | null, attributes?: Attrs}[]} selected
 * @param {(name: string, value: any) => void} onChange
 */
export function buildAttrPanel(box, attrs, selected, onChange) {
  box.replaceChildren();
  if (!selected.length) {
    box.appendChild(h("div", { cls: "nbl-muted", text: "Select an instance to edit its attributes." }));
    return;
  }
  const labelIds = new Set(selected.map((i) => i.label_id));
  const list = (attrs || []).filter((a) => !a.label_ids || [...labelIds].every((l) => l != null && /** @type {number[]} */ (a.label_ids).includes(l)));
  const vals = selected[0].attributes || {};
  if (!list.length) {
    box.appendChild(h("div", { cls: "nbl-muted", text: "No attributes for this label." }));
    return;
  }
  for (const a of list) {
    if (!attrVisible(a, list, vals)) continue;
    const v = vals[a.name];
    const missing = a.required && isEmpty(v);
    const field = h("div", { cls: "nbl-field" + (missing ? " nbl-missing" : ""), attrs: { "data-attr": a.name, "data-kind": a.kind } });
    const name = h("span", { cls: "nbl-name", text: a.name });
    if (a.required) name.appendChild(h("span", { cls: "nbl-req", text: "*", attrs: { title: "required" } }));
    field.appendChild(name);
    const opts = a.options || [];
    const group = "nbl-a" + ++uid;
    if (a.kind === "select" && opts.length <= 5) {
      for (const o of opts) {
        const inp = /** @type {HTMLInputElement} */ (h("input", { attrs: { type: "radio", name: group }, props: { value: o.name, checked: v === o.name } }));
        inp.addEventListener("change", () => inp.checked && onChange(a.name, o.name));
        field.appendChild(h("label", { cls: "nbl-opt" }, [inp, h("span", { text: o.name })]));
      }
    } else if (a.kind === "select") {
      const sel = /** @type {HTMLSelectElement} */ (h("select", {}, [h("option", { text: "—", props: { value: "" } }), ...opts.map((o) => h("option", { text: o.name, props: { value: o.name } }))]));
      sel.value = v == null ? "" : String(v);
      sel.addEventListener("change", () => onChange(a.name, sel.value === "" ? null : sel.value));
      field.appendChild(sel);
    } else if (a.kind === "multiselect") {
      const cur = Array.isArray(v) ? v : [];
      for (const o of opts) {
        const inp = /** @type {HTMLInputElement} */ (h("input", { attrs: { type: "checkbox" }, props: { value: o.name, checked: cur.includes(o.name) } }));
        inp.addEventListener("change", () => {
          const now = [...field.querySelectorAll("input[type=checkbox]")].map((c) => /** @type {HTMLInputElement} */ (c)).filter((c) => c.checked).map((c) => c.value);
          onChange(a.name, now);
        });
        field.appendChild(h("label", { cls: "nbl-opt" }, [inp, h("span", { text: o.name })]));
      }
    } else if (a.kind === "number") {
      const min = a.min ?? 0, max = a.max ?? 100, step = a.step ?? "any";
      const range = /** @type {HTMLInputElement} */ (h("input", { attrs: { type: "range", min, max, step: step === "any" ? (max - min) / 100 : step } }));
      const num = /** @type {HTMLInputElement} */ (h("input", { attrs: { type: "number", min: a.min ?? undefined, max: a.max ?? undefined, step } }));
      range.value = v == null ? String(min) : String(v);
      num.value = v == null ? "" : String(v);
      range.addEventListener("input", () => (num.value = range.value));
      range.addEventListener("change", () => onChange(a.name, Number(range.value)));
      num.addEventListener("change", () => {
        if (num.value === "") return onChange(a.name, null);
        let x = Number(num.value);
        if (a.min != null) x = Math.max(a.min, x);
        if (a.max != null) x = Math.min(a.max, x);
        onChange(a.name, x);
      });
      field.appendChild(h("div", {}, [range, num]));
    } else if (a.kind === "bool") {
      const inp = /** @type {HTMLInputElement} */ (h("input", { attrs: { type: "checkbox" }, props: { checked: v === true } }));
      inp.addEventListener("change", () => onChange(a.name, inp.checked));
      field.appendChild(h("label", { cls: "nbl-opt" }, [inp, h("span", { text: "yes" })]));
    } else {
      // text, date, time
      const type = a.kind === "date" ? "date" : a.kind === "time" ? "time" : "text";
      const inp = /** @type {HTMLInputElement} */ (h("input", { attrs: { type, step: type === "time" ? 1 : undefined } }));
      inp.value = v == null ? "" : String(v);
      inp.addEventListener("change", () => onChange(a.name, inp.value === "" ? null : inp.value));
      field.appendChild(inp);
    }
    box.appendChild(field);
  }
}
