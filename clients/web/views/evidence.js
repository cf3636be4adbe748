// views/evidence.js - the case page's evidence section: the case's
// evidence files with every version (ListEvidence), a download per
// version for those who may read its content (classify.c, mirrored in
// evidence.js; the others are told why in a sentence), and, for those who
// may add evidence in this state, a file input with a progress bar.
// Downloads become a Blob offered through an object URL (<a download>),
// revoked when the section is drawn again or the route changes.

import { h, replace } from '../dom.js';
import { call } from '../api.js';
import { t, lang, label, enumLabel, enumValues, formatTime } from '../i18n.js';
import { errorBox, field, setFieldError, enumSelect, submitWith } from '../ui.js';
import { LIMITS, checkText, byteLength } from '../validate.js';
import { mayAddEvidence, contentRefusal, upload, download } from '../evidence.js';

const NAME_MAX = 255; // a file name, bytes (rpc_evidence_begin())

let objectUrls = [];

// The Blobs of downloads are let go when the section is drawn again or
// the user leaves the page.
function revokeAll() {
  for (const u of objectUrls) URL.revokeObjectURL(u);
  objectUrls = [];
}
window.addEventListener('hashchange', revokeAll);

function pct(done, total) {
  return total > 0 ? Math.floor((done * 100) / total) : 100;
}

function bytes(n) {
  return Number(n || 0).toLocaleString(lang() === 'ja' ? 'ja-JP' : 'en-GB');
}

// A labelled <progress> with its text: { row, set(phaseKey, done, total) }.
function progressRow(id) {
  const bar = h('progress', { id, max: 100, value: 0 });
  const text = h('span', { class: 'progress-text', 'aria-live': 'polite' });
  const row = h('div', { class: 'field progress-row', hidden: true },
    h('label', { for: id }, t('ev.progress')), bar, text);
  return {
    row,
    bar,
    set(key, done, total) {
      row.hidden = false;
      bar.value = pct(done, total);
      text.textContent = t(key, { done: bytes(done), total: bytes(total), pct: pct(done, total) });
    },
  };
}

function classificationText(cl) {
  return cl ? [enumLabel(cl.confidentiality), enumLabel(cl.integrity), enumLabel(cl.availability),
    ...(cl.handling_restrictions || [])].join(' / ') : '';
}

// Download of one version: a button, then its progress, then the link.
function downloadCell(item, m) {
  const id = `dl-${item.evidence_id}-v${m.version}`;
  const prog = progressRow(`${id}-progress`);
  const status = h('div', {});
  const button = h('button', { type: 'button', class: 'secondary', 'data-download': `${item.evidence_id}/v${m.version}`,
    'aria-label': `${t('ev.download')}: ${m.name} ${t('ev.version', { n: m.version })}` }, t('ev.download'));
  button.addEventListener('click', async () => {
    button.disabled = true;
    replace(status);
    try {
      const { blob, manifest } = await download(item.evidence_id, m.version,
        (d, n) => prog.set('ev.downloading', d, n));
      const url = URL.createObjectURL(blob);
      objectUrls.push(url);
      replace(status, h('a', { href: url, download: manifest.name, class: 'save' },
        t('ev.save', { name: manifest.name })));
    } catch (err) {
      replace(status, errorBox(err, 'ev'));
    }
    button.disabled = false;
  });
  return h('td', {}, button, prog.row, status);
}

function itemRows(ctx, c, item) {
  // The item's classification now applies to every version (第4.5).
  const cl = item.classification || ((item.versions || []).slice(-1)[0] || {}).classification;
  const refusal = item.disposed ? 'disposed' : contentRefusal(ctx.me, c, cl);
  return (item.versions || []).map((m) => h('tr', { 'data-evidence': `${item.evidence_id}/v${m.version}` },
    h('td', {}, item.evidence_id),
    h('td', {}, t('ev.version', { n: m.version })),
    h('td', {}, m.name, m.reason ? [h('br', {}), h('small', {}, m.reason)] : null),
    h('td', {}, bytes(m.size)),
    h('td', {}, classificationText(cl)),
    h('td', {}, m.uploader, h('br', {}), h('small', {}, formatTime(m.uploaded_at))),
    h('td', {}, h('code', { class: 'sha256' }, m.sha256)),
    refusal ? h('td', { class: 'refused' }, t(`ev.refused_${refusal}`, {
      role: enumLabel(ctx.me.role),
      level: enumLabel((cl || {}).confidentiality),
    })) : downloadCell(item, m)));
}

function uploadForm(ctx, c, items, onDone) {
  const status = h('div', {});
  const file = field(t('ev.file'), h('input', { type: 'file' }));
  const target = field(t('ev.target'), enumSelect(items.filter((it) => !it.disposed).map((it) => it.evidence_id),
    (id) => {
      const it = items.find((x) => x.evidence_id === id);
      return t('ev.new_version_of', { name: ((it.versions || []).slice(-1)[0] || {}).name || '', id });
    }, t('ev.new_item')));
  const reason = field(label('evidence.reason'), h('textarea', { rows: 2 }), t('ev.reason_hint'));
  const conf = field(label('classification.confidentiality'),
    enumSelect(enumValues('CONFIDENTIALITY_'), enumLabel), t('ev.inherits'));
  if (c.classification && c.classification.confidentiality) conf.input.value = c.classification.confidentiality;
  // A new version keeps its item's classification: nothing to choose.
  target.input.addEventListener('change', () => {
    conf.row.hidden = target.input.value !== '';
  });
  const prog = progressRow('upload-progress');
  const submit = h('button', { type: 'submit' }, t('ev.submit'));
  const form = h('form', { class: 'action-form upload', 'data-evidence-action': 'upload', novalidate: true },
    h('h3', {}, t('ev.upload_legend')), file.row, target.row, reason.row, conf.row, submit, prog.row, status);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = file.input.files[0];
    const errs = [];
    // rpc_evidence_begin(): a name of 1-255 bytes on one line.
    let fe = null;
    if (!f) fe = ['v.required'];
    else if (byteLength(f.name) > NAME_MAX) fe = ['v.too_long', { max: NAME_MAX }];
    else if (/[\n\r\t]/.test(f.name)) fe = ['v.one_line'];
    setFieldError(file, fe ? t(fe[0], fe[1]) : null);
    if (fe) errs.push(file);
    const supersedes = target.input.value;
    const re = supersedes ? checkText(reason.input.value.trim(), LIMITS.TEXT_MAX, { required: true }) : null;
    setFieldError(reason, re ? t(re[0], re[1]) : null);
    if (re) errs.push(reason);
    // 第4.4, as the daemon checks it: never below the case's 機密性.
    const levels = enumValues('CONFIDENTIALITY_');
    const below = !supersedes && c.classification &&
      levels.indexOf(conf.input.value) < levels.indexOf(c.classification.confidentiality);
    setFieldError(conf, below ? t('ev.below_case') : null);
    if (below) errs.push(conf);
    if (errs.length) {
      errs[0].input.focus();
      return;
    }
    const opts = {
      progress: (phase, d, n) => prog.set(phase === 'hash' ? 'ev.hashing' : 'ev.uploading', d, n),
    };
    if (supersedes) {
      opts.supersedes = supersedes;
      opts.reason = reason.input.value.trim();
    } else {
      opts.classification = { ...c.classification, confidentiality: conf.input.value };
    }
    await submitWith(submit, status, 'ev', async () => {
      const r = await upload(c.id, f, opts);
      return t('ev.uploaded', { name: r.manifest.name, n: r.manifest.version });
    }, onDone);
  });
  return form;
}

// The section, filled in once ListEvidence answers.
export function section(ctx, c, onDone) {
  revokeAll();
  const body = h('div', {}, h('p', {}, t('ev.loading')));
  const sec = h('section', { class: 'evidence', 'aria-labelledby': 'evidence-h' },
    h('h2', { id: 'evidence-h' }, t('ev.section')), body);
  call('EvidenceService', 'ListEvidence', { case_id: c.id }).then((r) => {
    const items = r.items || [];
    const cols = ['evidence.id', 'ev.version_col', 'evidence.name', 'evidence.size',
      'case.classification', 'evidence.uploader', 'evidence.sha256'];
    const table = items.length ? h('table', { class: 'evidence' },
      h('thead', {}, h('tr', {},
        cols.map((k) => h('th', { scope: 'col' }, k.startsWith('ev.') ? t(k) : label(k))),
        h('th', { scope: 'col' }, t('ev.content')))),
      h('tbody', {}, items.map((it) => itemRows(ctx, c, it)))) : h('p', {}, t('ev.none'));
    let add = null;
    if (mayAddEvidence(ctx.me, c)) {
      const panel = h('div', { class: 'action-panel' });
      add = [h('button', { type: 'button', class: 'action', 'data-evidence-action': 'upload',
        onclick: () => {
          const form = uploadForm(ctx, c, items, onDone);
          replace(panel, form);
          form.querySelector('input').focus();
        } }, t('ev.upload_legend')), panel];
    }
    replace(body, table, add);
  }, (err) => replace(body, errorBox(err, 'ev')));
  return sec;
}
