// ui.js - pieces shared by the screens: error boxes, labelled fields and
// badges.  Every control made here has a <label for> (the browser tests
// fail on one without).

import { h, replace, uid } from './dom.js';
import { t, errorSentence } from './i18n.js';

// An API error as a sentence in the chosen language, with the server's
// detail (English, as the daemon wrote it) underneath; `scope` ("req",
// "ev") picks the sentences of that screen first (i18n.errorSentence).
export function errorBox(err, scope) {
  return h('div', { class: 'error-box', role: 'alert' },
    h('p', {}, errorSentence(err, scope)),
    err && err.msg ? h('p', { class: 'detail' }, t('err.detail'), err.msg) : null);
}

export function notice(text) {
  return h('div', { class: 'notice', role: 'status' }, text);
}

// A labelled control: returns { row, input, error } where `row` holds the
// label, the control, an optional hint and the place for its error.
export function field(labelText, control, hint) {
  const id = control.id || uid('f');
  control.id = id;
  const error = h('p', { class: 'field-error', id: `${id}-err`, hidden: true });
  const described = [error.id];
  let hintEl = null;
  if (hint) {
    hintEl = h('p', { class: 'hint', id: `${id}-hint` }, hint);
    described.unshift(hintEl.id);
  }
  control.setAttribute('aria-describedby', described.join(' '));
  const row = h('div', { class: 'field' }, h('label', { for: id }, labelText), control, hintEl, error);
  return { row, input: control, error };
}

// Shows (or clears, with null) the validation message of a field.
export function setFieldError(f, message) {
  if (message) {
    f.error.textContent = message;
    f.error.hidden = false;
    f.input.setAttribute('aria-invalid', 'true');
  } else {
    f.error.textContent = '';
    f.error.hidden = true;
    f.input.removeAttribute('aria-invalid');
  }
}

// <select> of enum values with labels; `empty` adds a first empty choice.
export function enumSelect(values, labelOf, empty) {
  const sel = h('select', {});
  if (empty !== undefined) sel.appendChild(h('option', { value: '' }, empty));
  for (const v of values) sel.appendChild(h('option', { value: v }, labelOf(v)));
  return sel;
}

export function badge(text, kind) {
  return h('span', { class: `badge badge-${kind}` }, text);
}

// Sends a form: runs `fn` (its API call, resolving with the message to
// show) with the submit button disabled; then onDone(message), or the
// error as a sentence in `status` (`scope` as for errorBox).
export async function submitWith(submit, status, scope, fn, onDone) {
  submit.disabled = true;
  replace(status);
  let message;
  try {
    message = await fn();
  } catch (err) {
    submit.disabled = false;
    replace(status, errorBox(err, scope));
    return;
  }
  onDone(message);
}
