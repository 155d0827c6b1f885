// Tiny DOM builder that never parses HTML: text goes through textContent, values through properties.

/**
 * h("div", {cls: "nbl-x", text: "hi", attrs: {title: "t"}, on: {click: f}, props: {value: 1}}, [children])
 */
export function h(tag, o = {}, children = []) {
  const el = document.createElement(tag);
  if (o.cls) el.className = o.cls;
  if (o.text !== undefined && o.text !== null) el.textContent = String(o.text);
  if (o.attrs) for (const [k, v] of Object.entries(o.attrs)) if (v !== undefined && v !== null && v !== false) el.setAttribute(k, v === true ? "" : String(v));
  if (o.props) for (const [k, v] of Object.entries(o.props)) el[k] = v;
  if (o.style) for (const [k, v] of Object.entries(o.style)) el.style.setProperty(k, v);
  if (o.on) for (const [k, f] of Object.entries(o.on)) el.addEventListener(k, f);
  for (const c of children) if (c) el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  return el;
}
