// views/login.js - log in with a token: it is checked with WhoAmI before
// it is kept (in sessionStorage, by api.js).

import { h, replace } from '../dom.js';
import { call, setToken } from '../api.js';
import { t } from '../i18n.js';
import { errorBox, field } from '../ui.js';

export function render(main, ctx) {
  const tok = field(t('login.token'),
    h('input', { type: 'password', name: 'token', autocomplete: 'off', required: true, spellcheck: 'false' }),
    t('login.hint'));
  const status = h('div', {});
  const form = h('form', { class: 'login', novalidate: true },
    tok.row, h('button', { type: 'submit' }, t('login.submit')), status);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const value = tok.input.value.trim();
    if (!value) {
      replace(status, errorBox({ code: 'unauthenticated' }));
      return;
    }
    setToken(value);
    try {
      const r = await call('DirectoryService', 'WhoAmI', {});
      tok.input.value = '';
      ctx.signedIn(r.user);
    } catch (err) {
      setToken(null);
      replace(status, errorBox(err));
    }
  });
  replace(main, h('h1', {}, t('login.title')), form);
  tok.input.focus();
}
