// mirror.test.js - the web client's copies of the daemon's tables agree
// with the C they copy: request.js with rq_table (csirtd/request.c) and
// the 第13.2 rows of lc_table (csirtd/lifecycle.c); evidence.js with the
// EVIDENCE_ADD rows of lc_table and content_readers (csirtd/classify.c).
// The tables are read from the C source itself, so a change on either
// side that the other lacks fails here rather than as a button that the
// daemon refuses.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { requestActions, allowedRequestActions, mayCreateRequest } from '../../clients/web/request.js';
import { mayAddEvidence, contentRefusal } from '../../clients/web/evidence.js';

const src = (p) => readFileSync(fileURLToPath(new URL(`../../${p}`, import.meta.url)), 'utf8');
// The body of the C array `name` (from its "= {" to the closing "};").
function table(text, name) {
  const start = text.indexOf(`${name}[] = {`);
  assert.ok(start >= 0, `${name} not found`);
  return text.slice(start, text.indexOf('\n};', start));
}

const ROLES = ['ROLE_REPORTER', 'ROLE_SECURITY_MANAGER', 'ROLE_CSIRT_LEAD', 'ROLE_INVESTIGATOR',
  'ROLE_AUDITOR', 'ROLE_ADMIN'];
const CASE_STATES = ['REPORTED', 'ACKNOWLEDGED', 'ESCALATED', 'INVESTIGATING', 'RESOLVED', 'CLOSED',
  'DISMISSED'].map((s) => `CASE_STATE_${s}`);

// "R(REPORTER) | SM | LEAD | INV | CSIRT_ROLES" -> role names.
function roles(expr) {
  const macros = { SM: 'SECURITY_MANAGER', LEAD: 'CSIRT_LEAD', INV: 'INVESTIGATOR' };
  const out = [];
  for (const part of expr.split('|').map((s) => s.trim())) {
    const m = /^R\((\w+)\)$/.exec(part);
    if (m) out.push(`ROLE_${m[1]}`);
    else if (macros[part]) out.push(`ROLE_${macros[part]}`);
    else if (part === 'CSIRT_ROLES') out.push('ROLE_CSIRT_LEAD', 'ROLE_INVESTIGATOR');
    else assert.fail(`unknown role expression ${part}`);
  }
  return out;
}

const lc = table(src('csirtd/lifecycle.c'), 'lc_table');
// lc_table rows of action `a`: [from state, roles].
function lcRows(a) {
  const re = new RegExp(`\\{S\\((\\w+)\\), A\\(${a}\\), S\\(\\w+\\), ([^,]+),`, 'g');
  return [...lc.matchAll(re)].map((m) => [`CASE_STATE_${m[1]}`, roles(m[2])]);
}

test('request.js has request.c\'s table: every (state, step, role)', () => {
  const rq = table(src('csirtd/request.c'), 'rq_table');
  const names = { ACKNOWLEDGE: 'acknowledge', RESPOND: 'respond', FULFIL: 'fulfil', CANCEL: 'cancel' };
  const c = new Set();
  for (const m of rq.matchAll(/\{RS\((\w+)\), RA\((\w+)\), RS\(\w+\), ([^}]+)\}/g)) {
    for (const r of roles(m[3])) c.add(`REQUEST_STATE_${m[1]} ${names[m[2]]} ${r}`);
  }
  assert.ok(c.size >= 8, [...c].join('\n'));
  const js = new Set();
  for (const a of requestActions) {
    for (const [states, rs] of a.when) for (const s of states) for (const r of rs) js.add(`${s} ${a.name} ${r}`);
  }
  assert.deepEqual([...js].sort(), [...c].sort());
});

test('request steps only while INVESTIGATING, by the roles of lifecycle.c', () => {
  const steps = { REQUEST_CREATE: null, REQUEST_ACK: 'acknowledge', REQUEST_RESPOND: 'respond',
    REQUEST_FULFIL: 'fulfil', REQUEST_CANCEL: 'cancel' };
  for (const [a, name] of Object.entries(steps)) {
    const rows = lcRows(a);
    assert.deepEqual(rows.map(([s]) => s), ['CASE_STATE_INVESTIGATING'], a);
    for (const role of ROLES) {
      const me = { role, login: 'inoue' };
      const want = rows[0][1].includes(role);
      for (const state of CASE_STATES) {
        const c = { state, assignees: ['inoue'] };
        const got = name === null ? mayCreateRequest(me, c)
          // Any request state in which the step exists (request.c).
          : ['REQUEST_STATE_OPEN', 'REQUEST_STATE_ACKNOWLEDGED', 'REQUEST_STATE_RESPONDED']
            .some((q) => allowedRequestActions(me, { state: q }, state, c.assignees)
              .some((x) => x.name === name));
        assert.equal(got, want && state === 'CASE_STATE_INVESTIGATING', `${a} ${role} ${state}`);
      }
    }
  }
  // An investigator not on the case is offered nothing.
  const other = { role: 'ROLE_INVESTIGATOR', login: 'kato' };
  const c = { state: 'CASE_STATE_INVESTIGATING', assignees: ['inoue'] };
  assert.equal(mayCreateRequest(other, c), false);
  assert.deepEqual(allowedRequestActions(other, { state: 'REQUEST_STATE_OPEN' }, c.state, c.assignees), []);
});

test('evidence.js: who adds evidence (lifecycle.c EVIDENCE_ADD)', () => {
  const rows = new Map(lcRows('EVIDENCE_ADD'));
  assert.ok(rows.size >= 5);
  for (const state of CASE_STATES) {
    for (const role of ROLES) {
      const want = (rows.get(state) || []).includes(role);
      assert.equal(mayAddEvidence({ role, login: 'inoue' }, { state, assignees: ['inoue'] }), want,
        `${role} ${state}`);
    }
  }
  assert.equal(mayAddEvidence({ role: 'ROLE_INVESTIGATOR', login: 'kato' },
    { state: 'CASE_STATE_INVESTIGATING', assignees: ['inoue'] }), false);
});

test('evidence.js: who reads content (classify.c content_readers)', () => {
  const cl = table(src('csirtd/classify.c'), 'content_readers');
  const rows = [...cl.matchAll(/\{C\((\w+)\),\s*([^}]+)\}/g)];
  assert.equal(rows.length, 3);
  for (const [, level, expr] of rows) {
    const readers = roles(expr.replace(/\s+/g, ' '));
    for (const role of ROLES) {
      const got = contentRefusal({ role, login: 'inoue' }, { assignees: ['inoue'] },
        { confidentiality: `CONFIDENTIALITY_${level}` });
      assert.equal(got === null, readers.includes(role), `${role} ${level}`);
    }
  }
  assert.equal(contentRefusal({ role: 'ROLE_INVESTIGATOR', login: 'kato' }, { assignees: ['inoue'] },
    { confidentiality: 'CONFIDENTIALITY_LOW' }), 'assigned');
  // Unset counts as the strictest: nobody (classify_may_read()).
  assert.equal(contentRefusal({ role: 'ROLE_CSIRT_LEAD', login: 'yamada' }, { assignees: [] }, null), 'level');
});
