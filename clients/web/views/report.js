// views/report.js - the report of 第13.1: one of the seven categories
// (with the policy's descriptions), title, description, recognised-at
// (now unless changed), the equipment concerned, the classification, and
// the emergency exception with the head of division's instruction.
// Checked here as the daemon will check it (validate.js), then sent with
// ReportIncident.

import { h, replace, uid } from '../dom.js';
import { call } from '../api.js';
import { t, label, enumLabel, enumValues, categoryList } from '../i18n.js';
import { errorBox, field, setFieldError, enumSelect, notice } from '../ui.js';
import { LIMITS, checkText, checkRestrictions, localToRfc3339, localNow } from '../validate.js';

function msg(e) {
  return e ? t(e[0], e[1]) : null;
}

export function render(main, ctx) {
  const checks = []; // functions returning true when their field is fine

  // Category: radio buttons in a fieldset, each described by its text.
  const catError = h('p', { class: 'field-error', id: uid('cat-err'), hidden: true });
  const radios = [];
  const catList = h('div', { class: 'categories' });
  for (const c of categoryList()) {
    const id = uid('cat');
    const descId = `${id}-desc`;
    const input = h('input', { type: 'radio', name: 'category', id, value: c.key,
      'aria-describedby': descId });
    radios.push(input);
    catList.appendChild(h('div', { class: 'category' }, input,
      h('label', { for: id }, c.name), h('p', { class: 'hint', id: descId }, c.description)));
  }
  const catSet = h('fieldset', { class: 'category-set' },
    h('legend', {}, t('report.category_legend')), catList, catError);
  checks.push(() => {
    const ok = radios.some((r) => r.checked);
    catError.textContent = ok ? '' : t('v.required');
    catError.hidden = ok;
    return ok;
  });

  const title = field(label('case.title'), h('input', { type: 'text', name: 'title', required: true }));
  checks.push(() => {
    const e = msg(checkText(title.input.value.trim(), LIMITS.TITLE_MAX, { required: true, line: true }));
    setFieldError(title, e);
    return !e;
  });
  const desc = field(label('case.description'), h('textarea', { name: 'description', rows: 5 }));
  checks.push(() => {
    const e = msg(checkText(desc.input.value, LIMITS.TEXT_MAX));
    setFieldError(desc, e);
    return !e;
  });

  const rec = field(label('case.recognized_at'),
    h('input', { type: 'datetime-local', name: 'recognized_at', step: 1, value: localNow(), required: true }));
  const nowBtn = h('button', { type: 'button', class: 'secondary' }, t('report.now'));
  nowBtn.addEventListener('click', () => { rec.input.value = localNow(); });
  rec.row.appendChild(nowBtn);
  checks.push(() => {
    let e = null;
    const v = localToRfc3339(rec.input.value);
    if (!rec.input.value) e = t('v.required');
    else if (!v) e = t('v.bad_time');
    else if (new Date(v).getTime() > Date.now() + 60000) e = t('v.future');
    setFieldError(rec, e);
    return !e;
  });

  // Equipment rows.
  const rows = [];
  const rowsEl = h('div', { class: 'equipment-rows' });
  const eqError = h('p', { class: 'field-error', hidden: true });
  function addRow() {
    const n = rows.length + 1;
    const kind = field(label('equipment.kind'),
      enumSelect(enumValues('EQUIPMENT_KIND_'), enumLabel, t('report.choose')));
    const num = field(label('equipment.management_number'), h('input', { type: 'text' }));
    const owner = field(label('equipment.owner'),
      enumSelect(enumValues('OWNERSHIP_'), enumLabel, t('report.choose')));
    const edesc = field(label('equipment.description'), h('input', { type: 'text' }));
    const row = { kind, num, owner, edesc };
    const remove = h('button', { type: 'button', class: 'secondary' }, t('report.equipment_remove'));
    const box = h('fieldset', { class: 'equipment' },
      h('legend', {}, `${t('report.equipment_row')} ${n}`), kind.row, num.row, owner.row, edesc.row, remove);
    row.box = box;
    remove.addEventListener('click', () => {
      rows.splice(rows.indexOf(row), 1);
      box.remove();
      addBtn.focus();
    });
    rows.push(row);
    rowsEl.appendChild(box);
    kind.input.focus();
  }
  const addBtn = h('button', { type: 'button', class: 'secondary' }, t('report.equipment_add'));
  addBtn.addEventListener('click', addRow);
  const eqSet = h('fieldset', {}, h('legend', {}, t('report.equipment_legend')), rowsEl, addBtn, eqError);
  checks.push(() => {
    let ok = true;
    const tooMany = rows.length > LIMITS.EQUIPMENT_MAX;
    eqError.textContent = tooMany ? t('v.too_many', { max: LIMITS.EQUIPMENT_MAX }) : '';
    eqError.hidden = !tooMany;
    for (const r of rows) {
      const ek = r.kind.input.value ? null : t('v.required');
      const eo = r.owner.input.value ? null : t('v.required');
      const en = msg(checkText(r.num.input.value.trim(), LIMITS.LINE_MAX, { line: true }));
      const ed = msg(checkText(r.edesc.input.value, LIMITS.TEXT_MAX));
      setFieldError(r.kind, ek);
      setFieldError(r.owner, eo);
      setFieldError(r.num, en);
      setFieldError(r.edesc, ed);
      ok = ok && !ek && !eo && !en && !ed;
    }
    return ok && !tooMany;
  });

  // Classification: all three levels required (別表第3; the daemon never
  // defaults one).
  const conf = field(label('classification.confidentiality'),
    enumSelect(enumValues('CONFIDENTIALITY_'), enumLabel, t('report.choose')));
  const integ = field(label('classification.integrity'),
    enumSelect(enumValues('INTEGRITY_'), enumLabel, t('report.choose')));
  const avail = field(label('classification.availability'),
    enumSelect(enumValues('AVAILABILITY_'), enumLabel, t('report.choose')));
  const restr = field(label('classification.handling_restrictions'),
    h('textarea', { rows: 2 }), t('report.restrictions_hint'));
  const restrictions = () => restr.input.value.split('\n').map((s) => s.trim()).filter((s) => s);
  for (const f of [conf, integ, avail]) {
    checks.push(() => {
      const e = f.input.value ? null : t('v.required');
      setFieldError(f, e);
      return !e;
    });
  }
  checks.push(() => {
    const e = msg(checkRestrictions(restrictions()));
    setFieldError(restr, e);
    return !e;
  });
  const clSet = h('fieldset', {}, h('legend', {}, t('report.classification_legend')),
    conf.row, integ.row, avail.row, restr.row);

  // Emergency (第15): the flag, and the instruction it requires.
  const flagId = uid('emergency');
  const flag = h('input', { type: 'checkbox', id: flagId, name: 'emergency' });
  const instr = field(label('emergency.instruction'), h('textarea', { rows: 3 }),
    t('report.emergency_help'));
  checks.push(() => {
    let e = null;
    if (flag.checked) e = msg(checkText(instr.input.value.trim(), LIMITS.TEXT_MAX, { required: true }));
    else if (instr.input.value.trim()) e = t('v.instruction_without_flag');
    setFieldError(instr, e);
    return !e;
  });
  const emSet = h('fieldset', {}, h('legend', {}, t('report.emergency_legend')),
    h('div', { class: 'check' }, flag, h('label', { for: flagId }, t('report.emergency_flag'))), instr.row);

  const status = h('div', { class: 'status' });
  const submit = h('button', { type: 'submit' }, t('report.submit'));
  const form = h('form', { class: 'report', novalidate: true },
    catSet, title.row, desc.row, rec.row, eqSet, clSet, emSet, submit, status);

  // After a first attempt, the messages follow the fixes as they are made.
  let tried = false;
  const recheck = () => {
    if (tried) checks.forEach((c) => c());
  };
  form.addEventListener('input', recheck);
  form.addEventListener('change', recheck);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    tried = true;
    const results = checks.map((c) => c());
    if (results.includes(false)) {
      replace(status, h('div', { class: 'error-box', role: 'alert' }, t('report.invalid')));
      const bad = form.querySelector('[aria-invalid="true"]') ||
        (catError.hidden ? null : radios[0]);
      if (bad) bad.focus();
      return;
    }
    const c = {
      category: radios.find((r) => r.checked).value,
      title: title.input.value.trim(),
      description: desc.input.value,
      recognized_at: localToRfc3339(rec.input.value),
      equipment: rows.map((r) => ({
        kind: r.kind.input.value,
        management_number: r.num.input.value.trim(),
        owner: r.owner.input.value,
        description: r.edesc.input.value,
      })),
      classification: {
        confidentiality: conf.input.value,
        integrity: integ.input.value,
        availability: avail.input.value,
        handling_restrictions: restrictions(),
      },
    };
    if (flag.checked) c.emergency = { flag: true, instruction: instr.input.value.trim() };
    replace(status);
    submit.disabled = true;
    try {
      const r = await call('CaseService', 'ReportIncident', { case: c });
      const id = r.case.id;
      replace(main, notice(`${t('report.done')}${id}`),
        h('p', {}, h('a', { href: `#/case/${encodeURIComponent(id)}` }, id, ' ', r.case.title)));
      main.focus();
    } catch (err) {
      submit.disabled = false;
      replace(status, errorBox(err));
    }
  });
  replace(main, h('h1', {}, t('report.title')), form);
  void ctx;
}
