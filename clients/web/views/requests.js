// views/requests.js - 第13.2 investigation requests: the section of the
// case page (the case's requests, the steps this user may take on each,
// and the CSIRT's form to ask for a summons, materials or personal
// devices) and the #/requests screen, where a 所属長 finds what their
// division has still to acknowledge or answer (ListRequests; the daemon
// scopes it to their division).  Which buttons show comes from
// request.js; the daemon decides.

import { h, replace } from '../dom.js';
import { call } from '../api.js';
import { t, label, enumLabel, enumValues, formatTime } from '../i18n.js';
import { errorBox, field, setFieldError, enumSelect, notice, badge, submitWith } from '../ui.js';
import { KINDS, LIVE, allowedRequestActions, mayCreateRequest } from '../request.js';
import { LIMITS, checkText, localToRfc3339, localNow } from '../validate.js';

const DUE_MAX_DAYS = 366; // REQUEST_DUE_MAX_DAYS
const DEVICES_MAX = 50; // REQUEST_ITEMS_MAX: devices per response
const DAY_MS = 86400 * 1000;

// What a request asks for, as one text (a summons: who, when, where, why).
function what(q) {
  const s = q.summons;
  const parts = [q.description];
  if (s && (s.who || s.at || s.place)) {
    parts.push(`${t('req.summons_who')}: ${s.who} / ${t('req.summons_at')}: ${formatTime(s.at)} / ` +
      `${t('req.summons_place')}: ${s.place} / ${t('req.summons_purpose')}: ${s.purpose}`);
  }
  return parts.filter((x) => x).join('\n');
}

function stateCell(q) {
  return h('td', { 'data-field': 'request.state' }, enumLabel(q.state),
    q.overdue ? [' ', badge(t('list.overdue_badge'), 'overdue')] : null);
}

// The 所属長's latest response, then the CSIRT's closing remark.
function responseCell(q) {
  return h('td', { class: 'text' },
    q.response ? [q.response, h('br', {}),
      h('small', {}, `${q.responded_by} ${formatTime(q.responded_at)}`)] : null,
    q.closing_text ? h('p', { class: 'hint' }, `${label('request.closing_text')}: ${q.closing_text}`) : null);
}

// The devices a 所属長 submits with the response to a device request
// (個人所有機器の提出): each becomes an item of the case, held first by
// the responding 所属長.  Checked as request.c rq_validate_item() does.
function deviceRows() {
  const rows = [];
  const list = h('div', { class: 'device-rows' });
  const error = h('p', { class: 'field-error', hidden: true });
  const add = h('button', { type: 'button', class: 'secondary' }, t('report.equipment_add'));
  add.addEventListener('click', () => {
    const r = {
      kind: field(label('equipment.kind'), enumSelect(enumValues('EQUIPMENT_KIND_'), enumLabel)),
      serial: field(label('item.serial'), h('input', { type: 'text' })),
      owner: field(label('equipment.owner'), enumSelect(enumValues('OWNERSHIP_'), enumLabel)),
      owner_name: field(label('item.owner_name'), h('input', { type: 'text' }), t('req.owner_name_hint')),
      seal_number: field(label('item.seal_number'), h('input', { type: 'text' })),
      description: field(label('equipment.description'), h('input', { type: 'text' })),
    };
    r.owner.input.value = 'OWNERSHIP_PERSONAL';
    const remove = h('button', { type: 'button', class: 'secondary' }, t('report.equipment_remove'));
    r.box = h('fieldset', { class: 'device' }, h('legend', {}, `${t('report.equipment_row')} ${rows.length + 1}`),
      Object.values(r).map((f) => f.row), remove);
    remove.addEventListener('click', () => {
      rows.splice(rows.indexOf(r), 1);
      r.box.remove();
      add.focus();
    });
    rows.push(r);
    list.appendChild(r.box);
    r.kind.input.focus();
  });
  const box = h('fieldset', {}, h('legend', {}, t('req.devices_legend')), list, add, error);
  // The items of the request, or null after marking what is wrong.
  function items() {
    let ok = true;
    const out = rows.map((r) => {
      const v = (k) => r[k].input.value.trim();
      const checks = {
        serial: checkText(v('serial'), LIMITS.LINE_MAX, { required: true, line: true }),
        owner_name: checkText(v('owner_name'), LIMITS.LINE_MAX,
          { required: v('owner') === 'OWNERSHIP_PERSONAL', line: true }),
        seal_number: checkText(v('seal_number'), LIMITS.LINE_MAX, { required: true, line: true }),
        description: checkText(v('description'), LIMITS.TEXT_MAX),
      };
      for (const [k, e] of Object.entries(checks)) {
        setFieldError(r[k], e ? t(e[0], e[1]) : null);
        if (e && ok) r[k].input.focus();
        if (e) ok = false;
      }
      return { kind: v('kind'), serial: v('serial'), owner: v('owner'), owner_name: v('owner_name'),
        seal_number: v('seal_number'), description: v('description') };
    });
    const many = rows.length > DEVICES_MAX ? t('v.too_many', { max: DEVICES_MAX }) : null;
    error.textContent = many || '';
    error.hidden = !many;
    return ok && !many ? out : null;
  }
  return { box, items };
}

// The form of one step on request `q` of case `caseId`.
function actionForm(caseId, q, a, onDone) {
  const status = h('div', {});
  const text = field(t(`req.text.${a.name}`), h('textarea', { rows: 3 }));
  const devices = a.name === 'respond' && q.kind === 'REQUEST_KIND_DEVICE' ? deviceRows() : null;
  const submit = h('button', { type: 'submit' }, t(`req.action.${a.name}`));
  const form = h('form', { class: 'action-form', 'data-request-action': a.name, novalidate: true },
    h('h3', {}, `${t(`req.action.${a.name}`)}: ${q.id}`), text.row, devices ? devices.box : null, submit, status);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const value = text.input.value.trim();
    const e = checkText(value, LIMITS.TEXT_MAX, { required: a.text === 'required' });
    setFieldError(text, e ? t(e[0], e[1]) : null);
    if (e) text.input.focus();
    const items = devices ? devices.items() : [];
    if (e || !items) return;
    const req = { case_id: caseId, request_id: q.id, text: value };
    if (items.length) req.items = items;
    await submitWith(submit, status, 'req', async () => {
      await call('CaseService', a.rpc, req);
      return t('case.done');
    }, onDone);
  });
  return form;
}

// The case's items (devices submitted or registered) and who holds them;
// their custody is kept with the CLI (csirt custody).
function itemTable(c) {
  const cols = ['item.id', 'equipment.kind', 'item.serial', 'equipment.owner', 'item.owner_name',
    'item.seal_number', 'item.holder', 'item.state'];
  return [h('h3', {}, t('req.items')), h('table', { class: 'items' },
    h('thead', {}, h('tr', {}, cols.map((k) => h('th', { scope: 'col' }, label(k))))),
    h('tbody', {}, c.items.map((it) => h('tr', { 'data-item': it.id },
      h('td', {}, it.id, it.request_id ? h('small', {}, ` (${it.request_id})`) : null),
      h('td', {}, enumLabel(it.kind)), h('td', {}, it.serial), h('td', {}, enumLabel(it.owner)),
      h('td', {}, it.owner_name), h('td', {}, it.seal_number), h('td', {}, it.holder),
      h('td', {}, enumLabel(it.state))))))];
}

// A table of requests with a panel for the form of the step chosen.
// `caseOf(q)`: { state, assignees } of q's case when known, else null.
function requestTable(ctx, list, withCase, caseOf, onDone) {
  const panel = h('div', { class: 'action-panel' });
  const cols = [...(withCase ? ['case.id'] : []), 'request.id', 'request.kind', 'request.what',
    'request.state', 'request.due', 'request.response'];
  const table = h('table', { class: 'requests' },
    h('thead', {}, h('tr', {}, cols.map((k) => h('th', { scope: 'col' }, label(k))),
      h('th', { scope: 'col' }, t('req.actions')))),
    h('tbody', {}, list.map((q) => {
      const c = caseOf(q);
      const acts = allowedRequestActions(ctx.me, q, c ? c.state : null, c ? c.assignees || [] : null);
      const buttons = h('div', { class: 'actions', role: 'group',
        'aria-label': `${t('req.actions')}: ${q.case_id} ${q.id}` },
      acts.map((a) => h('button', {
        type: 'button', class: 'action', 'data-request-action': a.name, 'aria-expanded': 'false',
        onclick: (ev) => {
          for (const b of table.querySelectorAll('button.action')) b.setAttribute('aria-expanded', 'false');
          ev.currentTarget.setAttribute('aria-expanded', 'true');
          const form = actionForm(q.case_id, q, a, onDone);
          replace(panel, form);
          form.querySelector('textarea').focus();
        },
      }, t(`req.action.${a.name}`))));
      return h('tr', { 'data-request': `${q.case_id}/${q.id}` },
        withCase ? h('td', {}, h('a', { href: `#/case/${encodeURIComponent(q.case_id)}` }, q.case_id)) : null,
        h('td', {}, q.id),
        h('td', {}, enumLabel(q.kind)),
        h('td', { class: 'text' }, what(q)),
        stateCell(q),
        h('td', {}, formatTime(q.due)),
        responseCell(q),
        h('td', {}, acts.length ? buttons : ''));
    })));
  return [table, panel];
}

// The CSIRT's form for a new request on case `c`.
function createForm(c, onDone) {
  const status = h('div', {});
  const kind = field(label('request.kind'), enumSelect(KINDS, enumLabel));
  kind.input.value = 'REQUEST_KIND_MATERIAL';
  const desc = field(label('request.what'), h('textarea', { rows: 3 }), t('req.what_hint'));
  const due = field(label('request.due'), h('input', { type: 'datetime-local', step: 1,
    value: localNow(new Date(Date.now() + 7 * DAY_MS)) }), t('req.due_hint', { max: DUE_MAX_DAYS }));
  const who = field(t('req.summons_who'), h('input', { type: 'text' }));
  const at = field(t('req.summons_at'), h('input', { type: 'datetime-local', step: 1 }));
  const place = field(t('req.summons_place'), h('input', { type: 'text' }));
  const purpose = field(t('req.summons_purpose'), h('textarea', { rows: 2 }));
  const summons = h('fieldset', { class: 'summons', hidden: true },
    h('legend', {}, t('req.summons_legend')), who.row, at.row, place.row, purpose.row);
  const showSummons = () => {
    summons.hidden = kind.input.value !== 'REQUEST_KIND_SUMMONS';
  };
  kind.input.addEventListener('change', showSummons);
  const submit = h('button', { type: 'submit' }, t('req.create'));
  const form = h('form', { class: 'action-form', 'data-request-action': 'create', novalidate: true },
    h('h3', {}, t('req.create')), kind.row, desc.row, due.row, summons, submit, status);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const isSummons = kind.input.value === 'REQUEST_KIND_SUMMONS';
    const errs = [];
    const check = (f, e) => {
      setFieldError(f, e ? t(e[0], e[1]) : null);
      if (e) errs.push(f);
    };
    check(desc, checkText(desc.input.value.trim(), LIMITS.TEXT_MAX, { required: !isSummons }));
    const dueTime = localToRfc3339(due.input.value);
    let de = null;
    if (!due.input.value) de = ['v.required'];
    else if (!dueTime) de = ['v.bad_time'];
    else if (Date.parse(dueTime) <= Date.now()) de = ['v.not_future'];
    else if (Date.parse(dueTime) - Date.now() > DUE_MAX_DAYS * DAY_MS) de = ['v.too_far', { max: DUE_MAX_DAYS }];
    check(due, de);
    const req = { case_id: c.id, kind: kind.input.value, description: desc.input.value.trim(), due: dueTime };
    if (isSummons) {
      check(who, checkText(who.input.value.trim(), LIMITS.LINE_MAX, { required: true, line: true }));
      const atTime = localToRfc3339(at.input.value);
      check(at, at.input.value ? (atTime ? null : ['v.bad_time']) : ['v.required']);
      check(place, checkText(place.input.value.trim(), LIMITS.LINE_MAX, { required: true, line: true }));
      check(purpose, checkText(purpose.input.value.trim(), LIMITS.TEXT_MAX, { required: true }));
      req.summons = { who: who.input.value.trim(), at: atTime, place: place.input.value.trim(),
        purpose: purpose.input.value.trim() };
    }
    if (errs.length) {
      errs[0].input.focus();
      return;
    }
    await submitWith(submit, status, 'req', async () => {
      await call('CaseService', 'CreateRequest', req);
      return t('case.done');
    }, onDone);
  });
  return form;
}

// The case page's section: c.requests as the fold left them.
export function section(ctx, c, onDone) {
  const list = c.requests || [];
  const parts = [h('h2', { id: 'requests-h' }, t('req.section'))];
  if (list.length) {
    parts.push(requestTable(ctx, list.map((q) => ({ ...q, case_id: q.case_id || c.id })), false,
      () => c, onDone));
  } else {
    parts.push(h('p', {}, t('req.none')));
  }
  if ((c.items || []).length) parts.push(itemTable(c));
  if (mayCreateRequest(ctx.me, c)) {
    const panel = h('div', { class: 'action-panel' });
    parts.push(h('button', { type: 'button', class: 'action', 'data-request-action': 'create',
      onclick: () => {
        const form = createForm(c, onDone);
        replace(panel, form);
        form.querySelector('select').focus();
      } }, t('req.create')), panel);
  }
  return h('section', { class: 'requests', 'aria-labelledby': 'requests-h' }, parts);
}

// #/requests: a 所属長's requests to acknowledge or answer; for the CSIRT
// and auditors, every request still open.
export async function render(main, ctx, flash) {
  const reporter = ctx.me.role === 'ROLE_REPORTER';
  const states = reporter ? ['REQUEST_STATE_OPEN', 'REQUEST_STATE_ACKNOWLEDGED'] : LIVE;
  const title = reporter ? t('req.todo_title') : t('req.open_title');
  const list = [];
  try {
    let token = '';
    do {
      const r = await call('CaseService', 'ListRequests', { states, page_size: 500, page_token: token });
      list.push(...(r.requests || []));
      token = r.next_page_token || '';
    } while (token && list.length < 2000);
  } catch (err) {
    replace(main, h('h1', {}, title), errorBox(err, 'req'));
    return;
  }
  replace(main,
    flash ? notice(flash) : null,
    h('h1', {}, title),
    h('p', { class: 'hint' }, reporter ? t('req.todo_hint') : t('req.open_hint')),
    list.length ? requestTable(ctx, list, true, () => null, (msg) => render(main, ctx, msg))
      : h('p', {}, t('req.todo_empty')));
}
