// views/cases.js - the cases this user may see (the daemon scopes a
// 所属長 to their division), with filters, overdue badges and cursor
// pagination (ListCases page tokens; a stack of them goes back).

import { h, replace } from '../dom.js';
import { call } from '../api.js';
import { t, label, enumLabel, enumValues, categoryList, formatTime } from '../i18n.js';
import { errorBox, field, enumSelect, badge } from '../ui.js';

const PAGE_SIZE = 20;

// Kept across visits of the list in this tab (not the token: filters).
const saved = { state: '', category: '', overdue: false, text: '', tokens: [''] };

export function render(main) {
  const state = field(label('case.state'), enumSelect(enumValues('CASE_STATE_'), enumLabel, t('list.any')));
  const cat = field(label('case.category'),
    enumSelect(categoryList().map((c) => c.key), (k) => categoryList().find((c) => c.key === k).name,
      t('list.any')));
  const text = field(t('list.text'), h('input', { type: 'search', name: 'text' }));
  const overdueId = 'filter-overdue';
  const overdue = h('input', { type: 'checkbox', id: overdueId });
  state.input.value = saved.state;
  cat.input.value = saved.category;
  text.input.value = saved.text;
  overdue.checked = saved.overdue;
  const filters = h('form', { class: 'filters', role: 'search', 'aria-label': t('list.filters') },
    state.row, cat.row, text.row,
    h('div', { class: 'check' }, overdue, h('label', { for: overdueId }, t('list.overdue_only'))),
    h('button', { type: 'submit' }, t('list.apply')));
  const results = h('div', { class: 'results', 'aria-live': 'polite' });
  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    saved.state = state.input.value;
    saved.category = cat.input.value;
    saved.text = text.input.value.trim();
    saved.overdue = overdue.checked;
    saved.tokens = [''];
    load(results);
  });
  replace(main, h('h1', {}, t('list.title')), filters, results);
  load(results);
}

async function load(results) {
  const req = { page_size: PAGE_SIZE, page_token: saved.tokens[saved.tokens.length - 1] };
  if (saved.state) req.states = [saved.state];
  if (saved.category) req.categories = [saved.category];
  if (saved.text) req.text = saved.text;
  if (saved.overdue) req.overdue = true;
  let r;
  try {
    r = await call('CaseService', 'ListCases', req);
  } catch (err) {
    replace(results, errorBox(err));
    return;
  }
  const cases = r.cases || [];
  if (cases.length === 0 && saved.tokens.length === 1) {
    replace(results, h('p', {}, t('list.empty')));
    return;
  }
  const table = h('table', { class: 'cases' },
    h('thead', {}, h('tr', {},
      ['case.id', 'case.title', 'case.state', 'case.category', 'case.division', 'case.reported_at']
        .map((k) => h('th', { scope: 'col' }, label(k))))),
    h('tbody', {}, cases.map((c) => h('tr', { 'data-case': c.id },
      h('td', {}, h('a', { href: `#/case/${encodeURIComponent(c.id)}` }, c.id)),
      h('td', {}, c.title,
        c.overdue ? [' ', badge(t('list.overdue_badge'), 'overdue')] : null,
        c.report_late ? [' ', badge(t('list.late_badge'), 'late')] : null,
        c.emergency && c.emergency.flag ? [' ', badge(t('list.emergency_badge'), 'emergency')] : null),
      h('td', {}, enumLabel(c.state)),
      h('td', {}, enumLabel(c.category)),
      h('td', {}, c.division),
      h('td', {}, formatTime(c.reported_at))))));
  const nav = h('nav', { class: 'pages', 'aria-label': 'pagination' });
  if (saved.tokens.length > 1) {
    nav.appendChild(h('button', { type: 'button', class: 'secondary', onclick: () => {
      saved.tokens.pop();
      load(results);
    } }, t('list.prev')));
  }
  if (r.next_page_token) {
    nav.appendChild(h('button', { type: 'button', class: 'secondary', onclick: () => {
      saved.tokens.push(r.next_page_token);
      load(results);
    } }, t('list.next')));
  }
  replace(results, table, nav);
}
