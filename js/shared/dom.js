// @ts-check
// Tiny DOM builder that never parses HTML: text goes through textContent, values through properties.

/**
 * @typedef {object} HOptions
 * @property {string} [cls] className
 * @property {unknown} [text] textContent (as a string; null/undefined: none)
 * @property {Record<string, string | number | boolean | null | undefined>} [attrs] attributes (true: present and empty; false/null/undefined: absent)
 * @property {Record<string, unknown>} [props] element properties (value, checked, type...)
 * @property {Record<string, string>} [style] CSS properties
 * @property {Record<string, (e: any) => void>} [on] event listeners
 */

/** @typedef {Node | string | null | undefined | false} Child */

/**
 * h("div", {cls: "nbl-x", text: "hi", attrs: {title: "t"}, on: {click: f}, props: {value: 1}}, [children])
 * @template {string} K
 * @param {K} tag
 * @param {HOptions} [o]
 * @param {Child[]} [children]
 * @returns {K extends keyof HTMLElementTagNameMap ? HTMLElementTagNameMap[K] : HTMLElement}
 */
export function h(tag, o = {}, children = []) {
  const el = document.createElement(tag);
  if (o.cls) el.className = o.cls;
  if (o.text !== undefined && o.text !== null) el.textContent = String(o.text);
  if (o.attrs) for (const [k, v] of Object.entries(o.attrs)) if (v !== undefined && v !== null && v !== false) el.setAttribute(k, v === true ? "" : String(v));
  if (o.props) Object.assign(el, o.props);
  if (o.style) for (const [k, v] of Object.entries(o.style)) el.style.setProperty(k, v);
  if (o.on) for (const [k, f] of Object.entries(o.on)) el.addEventListener(k, f);
  for (const c of children) if (c) el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  // createElement(tag) is the element of that tag name; tsc cannot see it through the generic
  return /** @type {K extends keyof HTMLElementTagNameMap ? HTMLElementTagNameMap[K] : HTMLElement} */ (el);
}
