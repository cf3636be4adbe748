// views/case.js - one case: its fields, the timeline from GetHistory (who
// did what, when), and the actions this role may take in this state
// (lifecycle.js).  Investigation requests (第13.2, views/requests.js) and
// evidence files (views/evidence.js) are sections of their own.

import { h, replace } from '../dom.js';
import { call } from '../api.js';
import { t, label, enumLabel, enumValues, formatTime } from '../i18n.js';
import { errorBox, field, setFieldError, enumSelect, notice, badge, submitWith } from '../ui.js';
import { allowedActions } from '../lifecycle.js';
import { LIMITS, checkText } from '../validate.js';
import * as requests from './requests.js';
import * as evidence from './evidence.js';

// The payload of a history event: its name and its one text, for the
// timeline.
export function eventText(ev) {
  const p = ev.incident_reported || ev.case_acknowledged || ev.guidance_given ||
    ev.case_escalated || ev.case_dismissed || ev.investigation_opened ||
    ev.investigators_assigned || ev.case_resolved || ev.case_closed ||
    ev.case_reopened || ev.case_updated || ev.note_added || ev.note_edited ||
    ev.deadline_missed || ev.request_created || ev.request_acknowledged ||
    ev.request_responded || ev.request_fulfilled || ev.request_cancelled ||
    ev.evidence_added || ev.evidence_disposed || ev.evidence_reclassified ||
    ev.item_registered || ev.item_transferred || ev.item_returned || ev.item_disposed || {};
  if (p.case) return p.case.title;
  if (p.request) return [p.request.id, p.request.description].filter((x) => x).join(': ');
  if (p.request_id) return [p.request_id, p.text || p.comment || p.reason].filter((x) => x).join(': ');
  if (p.manifest) return `${p.manifest.name} (${p.manifest.evidence_id} v${p.manifest.version})`;
  if (p.evidence_id) return [p.evidence_id, p.reason].filter((x) => x).join(': ');
  if (p.item) return [p.item.id, p.item.serial].filter((x) => x).join(': ');
  if (p.item_id) return [p.item_id, p.to, p.purpose].filter((x) => x).join(': ');
  if (p.assignees) return p.assignees.join(', ');
  if (p.note_id) return p.reason ? `${p.note_id}: ${p.reason}` : p.note_id;
  if (p.deadline) return `${p.deadline} (${formatTime(p.due)})`;
  if (p.changes) return p.changes.map((c) => c.field).join(', ') + (p.reason ? `: ${p.reason}` : '');
  return p.comment || p.text || p.reason || p.summary || '';
}

export function eventLabel(type) {
  const key = `event.${type}`;
  const s = t(key);
  return s === key ? type : s;
}

function details(c) {
  const rows = [
    ['case.id', c.id],
    ['case.state', enumLabel(c.state)],
    ['case.category', enumLabel(c.category)],
    ['case.title', c.title],
    ['case.description', c.description],
    ['case.division', c.division],
    ['case.reporter', c.reporter],
    ['case.recognized_at', formatTime(c.recognized_at)],
    ['case.reported_at', formatTime(c.reported_at)],
    ['case.updated_at', formatTime(c.updated_at)],
    ['case.classification', c.classification ? [
      enumLabel(c.classification.confidentiality), enumLabel(c.classification.integrity),
      enumLabel(c.classification.availability), ...(c.classification.handling_restrictions || []),
    ].join(' / ') : ''],
    ['case.emergency', c.emergency && c.emergency.flag
      ? `${t('case.yes')}: ${c.emergency.instruction}` : t('case.none')],
    ['case.assignees', (c.assignees || []).join(', ') || t('case.none')],
    ['case.overdue', c.overdue ? formatTime(c.overdue_since) : t('case.none')],
  ];
  const eq = (c.equipment || []).map((e) => h('li', {},
    [enumLabel(e.kind), e.management_number, enumLabel(e.owner), e.description].filter((x) => x).join(' / ')));
  return h('dl', { class: 'case-fields' },
    rows.map(([k, v]) => [h('dt', {}, label(k)), h('dd', { 'data-field': k }, v)]),
    eq.length ? [h('dt', {}, label('case.equipment')), h('dd', {}, h('ul', {}, eq))] : null);
}

function timeline(entries) {
  return h('ol', { class: 'timeline' }, entries.map((e) => {
    const ev = e.event;
    const text = eventText(ev);
    return h('li', { 'data-type': ev.type },
      h('span', { class: 'when' }, formatTime(ev.time)), ' ',
      h('strong', {}, eventLabel(ev.type)), ' ',
      h('span', { class: 'who' }, `${ev.actor} (${enumLabel(ev.role)})`),
      text ? h('p', { class: 'text' }, text) : null);
  }));
}

// The form of one action: its text (required, optional, assignees or a
// note with its classification) and a submit button.
function actionForm(c, a, onDone) {
  const status = h('div', {});
  const parts = [];
  let text = null;
  let conf = null;
  if (a.text === 'assignees') {
    text = field(t('case.assignees'), h('input', { type: 'text', value: (c.assignees || []).join(', ') }));
  } else if (a.text !== 'none') {
    text = field(a.text === 'optional' ? t('case.text') : t('case.text_required'), h('textarea', { rows: 3 }));
  }
  if (text) parts.push(text.row);
  if (a.text === 'note') {
    conf = field(label('classification.confidentiality'),
      enumSelect(enumValues('CONFIDENTIALITY_'), enumLabel), t('case.note_inherits'));
    // 第4.4: the case's level by default; the daemon refuses anything below.
    if (c.classification && c.classification.confidentiality) {
      conf.input.value = c.classification.confidentiality;
    }
  }
  if (conf) parts.push(conf.row);
  const submit = h('button', { type: 'submit' }, t(`action.${a.name}`));
  const form = h('form', { class: 'action-form', 'data-action': a.name, novalidate: true },
    h('h3', {}, t(`action.${a.name}`)), parts, submit, status);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    let req;
    let e = null;
    if (a.text === 'assignees') {
      const list = text.input.value.split(',').map((s) => s.trim()).filter((s) => s);
      if (list.length === 0) e = ['v.required'];
      else if (list.length > LIMITS.ASSIGNEES_MAX) e = ['v.too_many', { max: LIMITS.ASSIGNEES_MAX }];
      else e = list.map((s) => checkText(s, LIMITS.NAME_MAX, { line: true })).find((x) => x) || null;
      req = { id: c.id, assignees: list };
    } else if (a.text === 'note') {
      e = checkText(text.input.value, LIMITS.TEXT_MAX, { required: true });
      // 第4.4, as lifecycle.c checks it: never below the case's 機密性.
      const levels = enumValues('CONFIDENTIALITY_');
      const below = c.classification &&
        levels.indexOf(conf.input.value) < levels.indexOf(c.classification.confidentiality);
      const ce = below ? t('case.note_below_case') : null;
      setFieldError(conf, ce);
      if (ce && !e) {
        conf.input.focus();
        return;
      }
      // Notes carry a classification; integrity and availability of a
      // note follow the case.
      req = { case_id: c.id, text: text.input.value,
        classification: { ...c.classification, confidentiality: conf.input.value } };
    } else {
      e = checkText(text.input.value.trim(), LIMITS.TEXT_MAX, { required: a.text === 'required' });
      req = { id: c.id, text: text.input.value.trim() };
    }
    setFieldError(text, e ? t(e[0], e[1]) : null);
    if (e) {
      text.input.focus();
      return;
    }
    await submitWith(submit, status, null, async () => {
      await call('CaseService', a.rpc, req);
      return t('case.done');
    }, onDone);
  });
  return form;
}

export async function render(main, ctx, id, flash) {
  let c;
  let hist;
  try {
    [c, hist] = await Promise.all([
      call('CaseService', 'GetCase', { id }).then((r) => r.case),
      call('CaseService', 'GetHistory', { case_id: id }),
    ]);
  } catch (err) {
    replace(main, h('p', {}, h('a', { href: '#/cases' }, t('case.back'))), errorBox(err));
    return;
  }
  const acts = allowedActions(ctx.me.role, c.state);
  const panel = h('div', { class: 'action-panel' });
  const buttons = h('div', { class: 'actions', role: 'group', 'aria-label': t('case.actions') },
    acts.map((a) => h('button', {
      type: 'button', class: 'action', 'data-action': a.name, 'aria-expanded': 'false',
      onclick: (ev) => {
        for (const b of buttons.querySelectorAll('button')) b.setAttribute('aria-expanded', 'false');
        ev.currentTarget.setAttribute('aria-expanded', 'true');
        const form = actionForm(c, a, (msg) => render(main, ctx, id, msg));
        replace(panel, form);
        const first = form.querySelector('textarea, input, select, button');
        if (first) first.focus();
      },
    }, t(`action.${a.name}`))));
  replace(main,
    h('p', {}, h('a', { href: '#/cases' }, t('case.back'))),
    flash ? notice(flash) : null,
    h('h1', {}, c.id, ' ', h('span', { class: 'case-title' }, c.title),
      c.overdue ? [' ', badge(t('list.overdue_badge'), 'overdue')] : null),
    details(c),
    h('section', { 'aria-labelledby': 'actions-h' },
      h('h2', { id: 'actions-h' }, t('case.actions')),
      acts.length ? [buttons, panel] : h('p', {}, t('case.no_actions'))),
    requests.section(ctx, c, (msg) => render(main, ctx, id, msg)),
    evidence.section(ctx, c, (msg) => render(main, ctx, id, msg)),
    h('section', { 'aria-labelledby': 'timeline-h' },
      h('h2', { id: 'timeline-h' }, t('case.timeline')),
      timeline(hist.entries || []),
      h('p', {}, h('a', { href: `#/history/${encodeURIComponent(c.id)}` }, t('case.history_link')))));
}
