// @ts-check
// DOM helpers. Text only ever goes in as text nodes (textContent), never as markup: a key label,
// a username or an audit field cannot become HTML (there is no innerHTML anywhere in the console).

/**
 * Makes an element. `attrs`: on* functions become listeners; `class`, `for` and other names are
 * attributes (booleans add or leave out the attribute). Children: nodes, strings (text) or arrays.
 * @param {string} tag
 * @param {Record<string, any>} [attrs]
 * @param {...any} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') /** @type {HTMLInputElement} */ (el).value = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

/** @param {Node} el @param {any[]} children */
function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's children. @param {Element} el @param {...any} children */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** A labelled form field: the label names the control for assistive technology.
 * @param {string} label @param {HTMLElement} control @param {string} [hint] */
export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 10)}`;
  control.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hint ? h('small', {}, hint) : null);
}

/** @param {string} name @param {string[]} options @param {string} [value] */
export function select(name, options, value) {
  return h('select', { name }, options.map((o) => h('option', { value: o, selected: o === value }, o || '(any)')));
}

/** A form's named values as strings. @param {HTMLFormElement} form */
export function values(form) {
  /** @type {Record<string, string>} */
  const out = {};
  for (const [k, v] of new FormData(form).entries()) if (typeof v === 'string') out[k] = v;
  return out;
}

/** Shows a message in the live region (read out by screen readers). @param {string} text @param {'ok'|'error'} [kind] */
export function notify(text, kind = 'ok') {
  const n = document.getElementById('notice');
  if (!n) return;
  n.className = `notice ${kind}`;
  n.textContent = text;
}

/** Offers text as a file download (a blob: URL, nothing leaves the page). @param {string} name @param {string} text @param {string} type */
export function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: name });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** A page heading that takes the focus when a page is shown (keyboard and screen-reader users land on it). @param {string} text */
export function heading(text) {
  return h('h1', { tabindex: '-1', class: 'page-title' }, text);
}
