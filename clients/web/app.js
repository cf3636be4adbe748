// app.js - the web client's entry: who is signed in, the header (menu,
// language toggle, log out) and the routes (#/cases, #/report,
// #/case/<id>, #/history/<id>, #/requests: the 第13.2 requests to respond
// to).  A new screen is one more module under views/ and one more row in
// `routes`.

import { h, replace } from './dom.js';
import { call, token, setToken } from './api.js';
import { t, lang, setLang, enumLabel } from './i18n.js';
import { errorBox } from './ui.js';
import { mayReport, readsCases } from './lifecycle.js';
import * as login from './views/login.js';
import * as report from './views/report.js';
import * as cases from './views/cases.js';
import * as casePage from './views/case.js';
import * as history from './views/history.js';
import * as requests from './views/requests.js';

const top = document.getElementById('top');
const main = document.getElementById('main');
let me = null;

const routes = [
  [/^#\/report$/, (ctx) => mayReport(me.role) && report.render(main, ctx)],
  [/^#\/case\/([^/]+)$/, (ctx, id) => casePage.render(main, ctx, id)],
  [/^#\/history\/([^/]+)$/, (ctx, id) => history.render(main, ctx, id)],
  [/^#\/requests$/, (ctx) => requests.render(main, ctx)],
  [/^(#\/cases)?$/, (ctx) => cases.render(main, ctx)],
];

const ctx = {
  get me() { return me; },
  signedIn(user) {
    me = user;
    route();
  },
};

function header() {
  const toggle = h('button', { type: 'button', class: 'lang', lang: lang() === 'ja' ? 'en' : 'ja',
    'aria-label': t('app.lang_toggle_label'),
    onclick: () => {
      setLang(lang() === 'ja' ? 'en' : 'ja');
      route();
    } }, t('app.lang_toggle'));
  const nav = [];
  if (me && readsCases(me.role)) nav.push(h('a', { href: '#/cases' }, t('nav.cases')));
  if (me && mayReport(me.role)) nav.push(h('a', { href: '#/report' }, t('nav.report')));
  if (me && readsCases(me.role)) {
    nav.push(h('a', { href: '#/requests' },
      t(me.role === 'ROLE_REPORTER' ? 'nav.requests_todo' : 'nav.requests_open')));
  }
  const who = me ? h('span', { class: 'who' }, t('app.signed_in'), ': ',
    me.display_name || me.login, ` (${enumLabel(me.role)})`) : null;
  const logout = me ? h('button', { type: 'button', class: 'secondary', onclick: () => {
    setToken(null);
    me = null;
    window.location.hash = '';
    route();
  } }, t('app.logout')) : null;
  replace(top, h('span', { class: 'brand' }, t('app.title')),
    h('nav', { 'aria-label': 'menu' }, nav), who, logout, toggle);
}

async function route() {
  document.documentElement.lang = lang();
  document.title = t('app.title');
  if (!token()) me = null;
  if (token() && !me) {
    try {
      me = (await call('DirectoryService', 'WhoAmI', {})).user;
    } catch (err) {
      if (err.code === 'unauthenticated') setToken(null);
      header();
      replace(main, errorBox(err));
      if (!token()) login.render(main, ctx);
      return;
    }
  }
  header();
  if (!me) {
    login.render(main, ctx);
    return;
  }
  if (!readsCases(me.role)) {
    replace(main, h('p', {}, t('login.admin')));
    return;
  }
  const hash = window.location.hash;
  for (const [re, fn] of routes) {
    const m = re.exec(hash);
    if (m) {
      let args;
      try {
        args = m.slice(1).map((s) => decodeURIComponent(s));
      } catch (e) {
        args = null; // a malformed %-escape in the address bar
      }
      if (!args) break;
      if ((await fn(ctx, ...args)) === false) cases.render(main, ctx);
      return;
    }
  }
  cases.render(main, ctx);
}

window.addEventListener('hashchange', route);
route();
