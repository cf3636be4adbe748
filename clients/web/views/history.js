// views/history.js - the auditor's view of a case: every event with the
// ledger commit that recorded it, to be checked against `git log` of a
// clone of ledger.git.

import { h, replace } from '../dom.js';
import { call } from '../api.js';
import { t, label, enumLabel, formatTime } from '../i18n.js';
import { errorBox } from '../ui.js';
import { eventLabel, eventText } from './case.js';

export async function render(main, ctx, id) {
  let r;
  try {
    r = await call('CaseService', 'GetHistory', { case_id: id });
  } catch (err) {
    replace(main, errorBox(err));
    return;
  }
  const cols = ['event.seq', 'event.time', 'event.type', 'event.actor', 'event.role', 'event.commit'];
  replace(main,
    h('p', {}, h('a', { href: `#/case/${encodeURIComponent(id)}` }, id)),
    h('h1', {}, `${t('history.title')}: ${id}`),
    h('p', { class: 'hint' }, t('history.hint')),
    h('table', { class: 'history' },
      h('thead', {}, h('tr', {}, cols.map((k) => h('th', { scope: 'col' }, label(k))))),
      h('tbody', {}, (r.entries || []).map((e) => h('tr', {},
        h('td', {}, e.event.seq),
        h('td', {}, formatTime(e.event.time)),
        h('td', {}, eventLabel(e.event.type), h('br', {}), h('small', {}, eventText(e.event))),
        h('td', {}, e.event.actor),
        h('td', {}, enumLabel(e.event.role)),
        h('td', {}, h('code', { class: 'commit' }, e.commit)))))));
  void ctx;
}
