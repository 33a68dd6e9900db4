// DOM helpers; formatting by locale is in i18n.js. Text always goes in through textContent:
// device errors and MES reasons are outside data and must never be parsed as HTML.

const SVG_NS = 'http://www.w3.org/2000/svg';

function build(el, attrs, children) {
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value !== undefined && value !== null && value !== false) el.setAttribute(name, String(value));
  }
  el.append(...children.filter((c) => c !== undefined && c !== null));
  return el;
}

/** An HTML element: h('td', { 'data-field': 'value' }, 'text', child). */
export const h = (tag, attrs, ...children) => build(document.createElement(tag), attrs, children);

/** An SVG element, same signature. */
export const s = (tag, attrs, ...children) => build(document.createElementNS(SVG_NS, tag), attrs, children);

/** Sets text only when it changed, so a once-a-second update does not churn the DOM. */
export function setText(el, text) {
  const t = String(text);
  if (el.textContent !== t) el.textContent = t;
}

export function setAttr(el, name, value) {
  const v = String(value);
  if (el.getAttribute(name) !== v) el.setAttribute(name, v);
}

/** Finds the single element of `root` with data-field="name". */
export const field = (root, name) => root.querySelector(`[data-field="${name}"]`);

/**
 * Makes the children of `container` match `items`, keyed by the value of attribute `keyAttr`:
 * existing elements are updated in place (open details, focus and taps survive), new ones
 * created, gone ones removed, order kept.
 */
export function syncList(container, items, keyAttr, keyOf, create, update) {
  const existing = new Map([...container.children].map((el) => [el.getAttribute(keyAttr), el]));
  let previous = null;
  for (const item of items) {
    const key = String(keyOf(item));
    let el = existing.get(key);
    if (el) existing.delete(key);
    else {
      el = create(item);
      el.setAttribute(keyAttr, key);
    }
    update(el, item);
    const wanted = previous ? previous.nextElementSibling : container.firstElementChild;
    if (el !== wanted) container.insertBefore(el, wanted);
    previous = el;
  }
  for (const el of existing.values()) el.remove();
}
