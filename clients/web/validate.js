// validate.js - the report's checks before it is sent, mirroring the
// daemon's (csirtd/lifecycle.c case_validate, limits in lifecycle.h), so a
// 所属長 learns what to fix next to the field instead of from a refusal.
// The daemon checks again; these never replace its checks.

export const LIMITS = Object.freeze({
  TITLE_MAX: 200, // CASE_TITLE_MAX, bytes, one line
  LINE_MAX: 200, // CASE_LINE_MAX: management number, restriction
  TEXT_MAX: 64 * 1024, // CASE_TEXT_MAX: description, instruction, texts
  EQUIPMENT_MAX: 100, // CASE_EQUIPMENT_MAX
  RESTRICTIONS_MAX: 16, // CASE_RESTRICTIONS_MAX
  NAME_MAX: 64, // CASE_NAME_MAX: logins
  ASSIGNEES_MAX: 32, // CASE_ASSIGNEES_MAX
});

const encoder = new TextEncoder();

export function byteLength(s) {
  return encoder.encode(s).length;
}

// One check of a text (lifecycle.c lc_check_text): null when fine, else
// [key, vars] for i18n.t().
export function checkText(s, max, { required = false, line = false } = {}) {
  if (s.length === 0) return required ? ['v.required'] : null;
  if (byteLength(s) > max) return ['v.too_long', { max }];
  // eslint-disable-next-line no-control-regex
  if (line && /[\u0000-\u001f\u007f]/.test(s)) return ['v.one_line'];
  return null;
}

// "YYYY-MM-DDTHH:MM[:SS]" in local time -> RFC 3339 UTC without fractions,
// or null when it is not a time.
export function localToRfc3339(v) {
  if (!v) return null;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) return null;
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// Now, in the form <input type="datetime-local" step="1"> takes.
export function localNow(date = new Date()) {
  const p = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}` +
    `T${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())}`;
}

// Handling restrictions: one per line, each a line of at most LINE_MAX
// bytes, at most RESTRICTIONS_MAX, no duplicates.
export function checkRestrictions(list) {
  if (list.length > LIMITS.RESTRICTIONS_MAX) return ['v.too_many', { max: LIMITS.RESTRICTIONS_MAX }];
  for (const r of list) {
    const e = checkText(r, LIMITS.LINE_MAX, { required: true, line: true });
    if (e) return e;
  }
  if (new Set(list).size !== list.length) return ['v.duplicate'];
  return null;
}
