// dom.js - the only way the web client builds the page: elements from
// tag names, attributes and children, where every string becomes a text
// node (textContent).  Nothing here, nor anywhere else in the client,
// parses a string as HTML, so data from the API (titles, notes, logins)
// can never become markup or script.

// h('a', { href: '#/cases', class: 'x' }, 'text', child, ...)
// Attributes: "on<event>" attaches a listener; `false`/null/undefined
// leave the attribute out; `true` sets it empty.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'value') {
      el.value = v;
    } else if (k === 'checked') {
      el.checked = !!v;
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

// Replaces every child of `el`.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

let nextId = 0;
// A fresh id for pairing a <label for> with its control.
export function uid(prefix) {
  nextId += 1;
  return `${prefix}-${nextId}`;
}
