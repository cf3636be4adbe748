// views/requests.js - 第13.2 investigation requests: the section of the
// case page (the case's requests, the steps this user may take on each,
// and the CSIRT's form to ask for a summons, materials or personal
// devices) and the #/requests screen, where a 所属長 finds what their
// division has still to acknowledge or answer (ListRequests; the daemon
// scopes it to their division).  Which buttons show comes from
// request.js; the daemon decides.

import { h, replace } from '../dom.js';
import { call } from '../api.js';
import { t, label, enumLabel, formatTime } from '../i18n.js';
import { errorBox, field, setFieldError, enumSelect, notice, badge, submitWith } from '../ui.js';
import { KINDS, LIVE, allowedRequestActions, mayCreateRequest } from '../request.js';
import { LIMITS, checkText, localToRfc3339, localNow } from '../validate.js';

const DUE_MAX_DAYS = 366; // REQUEST_DUE_MAX_DAYS
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

// The form of one step on request `q` of case `caseId`.
function actionForm(caseId, q, a, onDone) {
  const status = h('div', {});
  const text = field(t(`req.text.${a.name}`), h('textarea', { rows: 3 }));
  const submit = h('button', { type: 'submit' }, t(`req.action.${a.name}`));
  const form = h('form', { class: 'action-form', 'data-request-action': a.name, novalidate: true },
    h('h3', {}, `${t(`req.action.${a.name}`)}: ${q.id}`), text.row, submit, status);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const value = text.input.value.trim();
    const e = checkText(value, LIMITS.TEXT_MAX, { required: a.text === 'required' });
    setFieldError(text, e ? t(e[0], e[1]) : null);
    if (e) {
      text.input.focus();
      return;
    }
    await submitWith(submit, status, 'req', async () => {
      await call('CaseService', a.rpc, { case_id: caseId, request_id: q.id, text: value });
      return t('case.done');
    }, onDone);
  });
  return form;
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
