// web.test.js - csirtd's web client in Debian's chromium against a real
// daemon: a 所属長 files a report written in Japanese, the 情報セキュリティ
// 管理者 acknowledges, gives guidance and escalates, the CSIRT lead opens an
// investigation and staffs it, the investigator adds a note, an auditor
// reads the ledger commit ids (checked with stock git); the lead asks the
// division for materials (第13.2), the 所属長 acknowledges and answers from
// "requests to respond to", the lead fulfils; an evidence file goes up in
// chunks with a progress bar (resuming after a lost answer) and comes back
// with the same SHA-256, and classification refusals read as sentences;
// hostile titles stay text; the report form works from the keyboard alone
// and labels every control; the CSP is sent and enforced; API errors read as
// sentences; and nothing is fetched from anywhere but the daemon.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorld, newPage, login, shot, unlabelled, api, assertClean, ago } from './harness.js';

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
  "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

let world;
let caseId;

before(async () => {
  world = await startWorld();
});

after(async () => {
  if (world) await world.stop();
});

test('the page is served with the CSP, and the browser enforces it', async () => {
  const page = await newPage(world);
  const res = await page.goto(`${world.origin}/`);
  assert.equal(res.status(), 200);
  const hd = res.headers();
  assert.equal(hd['content-security-policy'], CSP);
  assert.equal(hd['x-content-type-options'], 'nosniff');
  assert.equal(hd['x-frame-options'], 'DENY');
  assert.equal(hd['referrer-policy'], 'no-referrer');
  assert.equal(hd['cross-origin-opener-policy'], 'same-origin');
  await page.getByLabel('トークン').waitFor();
  // An inline script injected into the live page does not run, and
  // Chromium says why.
  const refused = page.waitForEvent('console',
    { predicate: (m) => /Content Security Policy/.test(m.text()) });
  const ran = await page.evaluate(() => {
    const s = document.createElement('script');
    s.textContent = 'window.__inline = 1';
    document.body.appendChild(s);
    return window.__inline;
  });
  assert.equal(ran, undefined);
  assert.match((await refused).text(), /script-src 'self'/);
  page.cspViolations = [];
  assert.deepEqual(await unlabelled(page), []);
  // A wrong token is refused with a sentence in Japanese, then English.
  await page.getByLabel('トークン').fill('csirt_not-a-token');
  await page.getByRole('button', { name: 'ログイン' }).click();
  await page.getByRole('alert').getByText('トークンが正しくないか、無効になっています。').waitFor();
  await page.getByRole('button', { name: 'Switch to English' }).click();
  await page.getByLabel('Token').fill('csirt_not-a-token');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('alert').getByText('The token is wrong or no longer valid.').waitFor();
  assert.equal(await page.evaluate(() => document.cookie), '');
  assertClean(assert, page);
});

test('a 所属長 files a report written in Japanese', async () => {
  const page = await newPage(world);
  const reports = [];
  page.on('request', (r) => {
    if (r.url().endsWith('/ReportIncident')) reports.push(r);
  });
  await login(world, page, 'tanaka');
  // The token is in sessionStorage only, sent as a Bearer header.
  assert.equal(await page.evaluate(() => sessionStorage.getItem('csirt.token')), world.tokens.tanaka);
  assert.equal(await page.evaluate(() => localStorage.length), 0);
  await page.getByRole('link', { name: '事案の報告' }).click();
  await page.getByRole('heading', { name: '事案の報告 (第13.1)' }).waitFor();
  // The seven categories of 第13.1 with the policy's names.
  for (const name of ['(1) 情報流出事案', '(2) 重大障害事案', '(6) 機器の紛失事案',
    '(7) その他社会的反響が大きいと予想される事案']) {
    await page.getByLabel(name, { exact: true }).waitFor();
  }
  await page.getByText('端末等、外部記録媒体、UID、デジタルカメラ等、携帯電話機等の機器を紛失した事案').waitFor();
  // recognised-at defaults to now, in the browser's zone (Asia/Tokyo).
  const rec = await page.getByLabel('認知日時').inputValue();
  const recMs = await page.evaluate((v) => new Date(v).getTime(), rec);
  assert.ok(Math.abs(recMs - Date.now()) < 120000, rec);
  // Nothing filled: the checks speak and nothing is sent.
  await page.getByRole('button', { name: '報告する' }).click();
  await page.getByText('入力内容を確認してください。').waitFor();
  assert.equal(await page.getByLabel('件名').getAttribute('aria-invalid'), 'true');
  assert.equal(reports.length, 0);
  // An emergency without the instruction is caught too.
  await page.getByLabel('緊急事態の特例により処理した').check();
  await page.getByRole('button', { name: '報告する' }).click();
  assert.equal(await page.getByLabel('所属長の指示').getAttribute('aria-invalid'), 'true');
  await page.getByLabel('緊急事態の特例により処理した').uncheck();
  assert.equal(reports.length, 0);

  await page.getByLabel('(6) 機器の紛失事案', { exact: true }).check();
  await page.getByLabel('件名').fill('モバイルPCの紛失（出張先）');
  await page.getByLabel('概要').fill('出張先の会議室でモバイルPCを紛失した。\n暗号化済み。');
  await page.getByRole('button', { name: '機器を追加' }).click();
  await page.getByLabel('種別').selectOption({ label: '端末等' });
  await page.getByLabel('管理番号').fill('PC-2026-0042');
  await page.getByLabel('所有区分').selectOption({ label: '公用' });
  await page.getByLabel('機密性', { exact: true }).selectOption({ label: '機密性中' });
  await page.getByLabel('完全性', { exact: true }).selectOption({ label: '完全性低' });
  await page.getByLabel('可用性', { exact: true }).selectOption({ label: '可用性低' });
  assert.deepEqual(await unlabelled(page), []);
  await shot(page, '01-report-form');
  await page.getByRole('button', { name: '報告する' }).click();
  const done = page.getByRole('status').filter({ hasText: '報告しました。事案番号: ' });
  await done.waitFor();
  caseId = /事案番号: (\d{4}-\d{6})/.exec(await done.textContent())[1];
  assert.equal(reports.length, 1);
  assert.match(reports[0].headers().authorization, /^Bearer csirt_/);
  await shot(page, '02-reported');

  // The list shows it; the case page shows what was filed.
  await page.getByRole('link', { name: '事案一覧' }).click();
  const row = page.locator(`tr[data-case="${caseId}"]`);
  await row.getByText('モバイルPCの紛失（出張先）').waitFor();
  await row.getByText('報告', { exact: true }).waitFor();
  await row.getByRole('link', { name: caseId }).click();
  await page.locator('[data-field="case.category"]').getByText('機器の紛失事案').waitFor();
  await page.getByText('PC-2026-0042').waitFor();
  // A 所属長 may take no action on a filed case.
  await page.getByText('この状態で行える操作はありません。').waitFor();
  assertClean(assert, page);
});

test('the 情報セキュリティ管理者 acknowledges, gives guidance and escalates', async () => {
  assert.ok(caseId);
  const page = await newPage(world);
  await login(world, page, 'sato');
  await page.goto(`${world.origin}/#/case/${caseId}`);
  await page.getByRole('heading', { name: caseId }).waitFor();
  const actions = page.getByRole('group', { name: 'この事案に対する操作' });
  const names = await actions.getByRole('button').allTextContents();
  assert.deepEqual(names, ['受理する', '指導する (第13.3)', 'CSIRTに上申する', '却下する', 'メモを追加する']);

  await actions.getByRole('button', { name: '受理する' }).click();
  await page.getByLabel('コメント').fill('受理しました。');
  await page.locator('form[data-action="acknowledge"]').getByRole('button').click();
  await page.getByRole('status').getByText('記録しました。').waitFor();
  await page.locator('[data-field="case.state"]').getByText('受理').waitFor();

  await actions.getByRole('button', { name: '指導する (第13.3)' }).click();
  // Guidance needs its text: refused here before the daemon is asked.
  await page.locator('form[data-action="guidance"]').getByRole('button').click();
  await page.getByText('入力してください。').waitFor();
  await page.getByLabel('内容 (必須)').fill('端末の遠隔消去を直ちに実施し、経過を報告すること。');
  await page.locator('form[data-action="guidance"]').getByRole('button').click();
  await page.locator('.timeline li[data-type="case.guidance_given"]')
    .getByText('端末の遠隔消去を直ちに実施し、経過を報告すること。').waitFor();

  await actions.getByRole('button', { name: 'CSIRTに上申する' }).click();
  await page.locator('form[data-action="escalate"]').getByRole('button').click();
  await page.locator('[data-field="case.state"]').getByText('上申').waitFor();
  const tl = await page.locator('.timeline li').allTextContents();
  assert.equal(tl.length, 4);
  assert.match(tl[1], /受理.*sato \(情報セキュリティ管理者\)/);
  assert.match(tl[2], /指導.*sato/);
  assert.match(tl[3], /上申.*sato/);
  // Escalated: the SM may no longer acknowledge, escalate or dismiss.
  assert.deepEqual(await actions.getByRole('button').allTextContents(),
    ['指導する (第13.3)', 'メモを追加する']);
  await shot(page, '03-escalated');
  assertClean(assert, page);
});

test('the CSIRT lead opens an investigation; an auditor sees the ledger commits', async () => {
  assert.ok(caseId);
  const page = await newPage(world);
  await login(world, page, 'yamada');
  await page.goto(`${world.origin}/#/case/${caseId}`);
  await page.getByRole('heading', { name: caseId }).waitFor();
  const actions = page.getByRole('group', { name: 'この事案に対する操作' });
  assert.deepEqual(await actions.getByRole('button').allTextContents(),
    ['調査を開始する', '調査担当を指名する', 'メモを追加する']);
  await actions.getByRole('button', { name: '調査を開始する' }).click();
  await page.getByLabel('コメント').fill('調査を開始する。');
  await page.locator('form[data-action="investigate"]').getByRole('button').click();
  await page.locator('[data-field="case.state"]').getByText('調査中').waitFor();
  await page.locator('.timeline li[data-type="case.investigation_opened"]').getByText('yamada').waitFor();
  assert.deepEqual(await actions.getByRole('button').allTextContents(),
    ['調査担当を指名する', 'メモを追加する', '解決とする']);
  // Staff it: the investigator then adds a note (機密性高, sealed).
  await actions.getByRole('button', { name: '調査担当を指名する' }).click();
  await page.getByLabel('調査担当のログイン名 (カンマ区切り)').fill('inoue');
  await page.locator('form[data-action="assign"]').getByRole('button').click();
  await page.locator('[data-field="case.assignees"]').getByText('inoue').waitFor();
  await shot(page, '04-investigating');
  const inv = await newPage(world);
  await login(world, inv, 'inoue');
  await inv.goto(`${world.origin}/#/case/${caseId}`);
  await inv.getByRole('heading', { name: caseId }).waitFor();
  const invActions = inv.getByRole('group', { name: 'この事案に対する操作' });
  assert.deepEqual(await invActions.getByRole('button').allTextContents(), ['メモを追加する']);
  await invActions.getByRole('button', { name: 'メモを追加する' }).click();
  await inv.getByLabel('内容 (必須)').fill('端末の位置情報を照会中。');
  // 第4.4: the form starts at the case's 機密性 (中); 機密性低 is refused
  // before sending, as the daemon would; 機密性高 goes through (the
  // daemon stores it encrypted).
  const notes = [];
  inv.on('request', (q) => {
    if (q.url().endsWith('/AddNote')) notes.push(q);
  });
  const level = inv.getByLabel('機密性', { exact: true });
  assert.equal(await level.inputValue(), 'CONFIDENTIALITY_MEDIUM');
  await level.selectOption({ label: '機密性低' });
  assert.deepEqual(await unlabelled(inv), []);
  await inv.locator('form[data-action="note"]').getByRole('button').click();
  await inv.locator('.field-error').getByText('メモの機密性は事案の機密性より低くできません（第4.4）。').waitFor();
  assert.equal(notes.length, 0);
  await level.selectOption({ label: '機密性高' });
  await inv.locator('form[data-action="note"]').getByRole('button').click();
  await inv.locator('.timeline li[data-type="note.added"]').getByText('inoue').waitFor();
  assertClean(assert, inv);

  const audit = await newPage(world);
  await login(world, audit, 'suzuki');
  await audit.goto(`${world.origin}/#/case/${caseId}`);
  await audit.getByRole('heading', { name: caseId }).waitFor();
  await audit.getByText('この状態で行える操作はありません。').waitFor();
  await audit.getByRole('link', { name: '台帳の履歴 (コミットID)' }).click();
  await audit.getByRole('heading', { name: `台帳の履歴: ${caseId}` }).waitFor();
  const commits = await audit.locator('code.commit').allTextContents();
  assert.equal(commits.length, 7);
  // Each is a commit of the ledger whose trailers name this case.
  const repo = join(world.data, 'ledger.git');
  for (const c of commits) {
    assert.match(c, /^[0-9a-f]{40}$/);
    const msg = execFileSync('git', ['-C', repo, 'log', '-1', '--format=%B', c], { encoding: 'utf8' });
    assert.match(msg, new RegExp(`^Case: ${caseId}$`, 'm'));
  }
  // ... and they are exactly the commits that touched the case, in order.
  const touched = execFileSync('git', ['-C', repo, 'log', '--reverse', '--format=%H', 'ledger', '--',
    `cases/*/${caseId}/*`], { encoding: 'utf8' }).trim().split('\n');
  assert.deepEqual(commits, touched);
  const last = execFileSync('git', ['-C', repo, 'log', '-1', '--format=%B', 'ledger'], { encoding: 'utf8' });
  assert.match(last, /^Actor: inoue$/m);
  assert.match(last, /^Role: ROLE_INVESTIGATOR$/m);
  await shot(audit, '05-auditor-history');
  // In English, the same page in the CLI's English words.
  await audit.getByRole('button', { name: 'Switch to English' }).click();
  await audit.getByRole('heading', { name: `Ledger history: ${caseId}` }).waitFor();
  await audit.getByRole('columnheader', { name: 'Commit' }).waitFor();
  await audit.getByText('Head of the CSIRT').first().waitFor();
  await shot(audit, '05-auditor-history-en');
  assertClean(assert, page);
  assertClean(assert, audit);
});

// The rows of the requests table and the buttons of one of them.
function requestRow(page, id) {
  return page.locator(`tr[data-request="${id}"]`);
}

function requestButtons(row) {
  return row.locator('button.action').allTextContents();
}

test('第13.2: the lead asks for materials, the 所属長 acknowledges and answers (with a device too), the lead fulfils', async () => {
  assert.ok(caseId);
  const lead = await newPage(world);
  await login(world, lead, 'yamada');
  await lead.goto(`${world.origin}/#/case/${caseId}`);
  await lead.getByRole('heading', { name: '調査要請 (第13.2)' }).waitFor();
  await lead.getByText('この事案に調査要請はありません。').waitFor();
  await lead.getByRole('button', { name: '調査要請を作成する' }).click();
  const form = lead.locator('form[data-request-action="create"]');
  // A summons asks who, when, where and why: those fields appear with it.
  const summons = form.locator('fieldset.summons');
  assert.equal(await summons.isVisible(), false);
  await lead.getByLabel('要請種別').selectOption({ label: '出頭要請' });
  await summons.waitFor();
  await lead.getByLabel('出頭者').waitFor();
  assert.deepEqual(await unlabelled(lead), []);
  await lead.getByLabel('要請種別').selectOption({ label: '資料提出' });
  assert.equal(await summons.isVisible(), false);
  // Checked before sending, as request.c would: the text is required for
  // materials, and the due time must be ahead.
  const creates = [];
  lead.on('request', (q) => {
    if (q.url().endsWith('/CreateRequest')) creates.push(q);
  });
  await lead.getByLabel('期限').fill('2020-01-01T10:00:00');
  await form.getByRole('button', { name: '調査要請を作成する' }).click();
  await form.getByText('入力してください。').waitFor();
  await form.getByText('現在より後の日時を指定してください。').waitFor();
  assert.equal(creates.length, 0);
  // 17:00 in three days, in the browser's zone (Asia/Tokyo), sent in UTC.
  const dueLocal = await lead.evaluate((ms) => {
    const d = new Date(ms);
    const p = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T17:00:00`;
  }, Date.now() + 3 * 86400 * 1000);
  const dueUtc = await lead.evaluate((v) => new Date(v).toISOString().replace(/\.\d{3}Z$/, 'Z'), dueLocal);
  assert.match(dueUtc, /T08:00:00Z$/);
  await lead.getByLabel('期限').fill(dueLocal);
  const asked = '紛失したモバイルPCの貸出記録簿と持出し承認簿の写しを提出してください。';
  await lead.getByLabel('要請内容').fill(asked);
  await form.getByRole('button', { name: '調査要請を作成する' }).click();
  await lead.getByRole('status').getByText('記録しました。').waitFor();
  const r1 = requestRow(lead, `${caseId}/r1`);
  await r1.getByText(asked).waitFor();
  await r1.getByText('資料提出').waitFor();
  await r1.locator('[data-field="request.state"]').getByText('依頼中').waitFor();
  // Open: the CSIRT may only cancel; acknowledging is the division's.
  assert.deepEqual(await requestButtons(r1), ['要請を取り消す']);
  await lead.locator('.timeline li[data-type="request.created"]').getByText(asked).waitFor();
  await shot(lead, '10-request-created');
  assertClean(assert, lead);
  assert.equal(creates.length, 1);

  // Three more device requests: the lead cancels r2 and r3 behind the
  // 所属長's back; r4 is answered with the device submitted.
  for (const what of ['私有スマートフォンの提出', '私有USBメモリの提出', '私有ノートPCの提出']) {
    await api(world.origin, world.tokens.yamada, 'CaseService/CreateRequest', {
      case_id: caseId, kind: 'REQUEST_KIND_DEVICE', description: what,
      due: new Date(Date.now() + 86400 * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
    });
  }

  const head = await newPage(world);
  await login(world, head, 'tanaka');
  await head.getByRole('link', { name: '対応が必要な調査要請' }).click();
  await head.getByRole('heading', { name: '対応が必要な調査要請 (第13.2)' }).waitFor();
  const h1 = requestRow(head, `${caseId}/r1`);
  await h1.getByText(asked).waitFor();
  await h1.getByRole('link', { name: caseId }).waitFor();
  assert.deepEqual(await requestButtons(h1), ['受領する']);
  const h2 = requestRow(head, `${caseId}/r2`);
  await h2.getByText('個人所有機器の提出').waitFor();
  await shot(head, '11-requests-to-respond');
  await api(world.origin, world.tokens.yamada, 'CaseService/CancelRequest',
    { case_id: caseId, request_id: 'r2', text: '別途、任意提出を受けたため。' });
  // The stale button gets the daemon's refusal as a sentence, in
  // Japanese and in English.
  await h2.getByRole('button', { name: '受領する' }).click();
  await head.locator('form[data-request-action="acknowledge"]').getByRole('button', { name: '受領する' }).click();
  await head.getByRole('alert')
    .getByText('この調査要請の現在の状態では、この操作はできません。画面を更新してください。').waitFor();
  await head.getByRole('button', { name: 'Switch to English' }).click();
  await head.getByRole('heading', { name: 'Investigation requests to respond to (13.2)' }).waitFor();
  await api(world.origin, world.tokens.yamada, 'CaseService/CancelRequest',
    { case_id: caseId, request_id: 'r3', text: '不要となったため。' });
  await requestRow(head, `${caseId}/r3`).getByRole('button', { name: 'Acknowledge' }).click();
  await head.locator('form[data-request-action="acknowledge"]').getByRole('button', { name: 'Acknowledge' }).click();
  await head.getByRole('alert')
    .getByText("This cannot be done in the request's current state. Please reload.").waitFor();
  await head.getByRole('button', { name: '日本語に切り替え' }).click();
  await head.getByRole('heading', { name: '対応が必要な調査要請 (第13.2)' }).waitFor();

  await requestRow(head, `${caseId}/r1`).getByRole('button', { name: '受領する' }).click();
  await head.getByLabel('コメント').fill('受領しました。担当係で準備します。');
  assert.deepEqual(await unlabelled(head), []);
  await head.locator('form[data-request-action="acknowledge"]').getByRole('button').click();
  await head.getByRole('status').getByText('記録しました。').waitFor();
  await requestRow(head, `${caseId}/r1`).locator('[data-field="request.state"]').getByText('受領').waitFor();
  assert.deepEqual(await requestButtons(requestRow(head, `${caseId}/r1`)), ['回答する']);
  await requestRow(head, `${caseId}/r1`).getByRole('button', { name: '回答する' }).click();
  const respond = head.locator('form[data-request-action="respond"]');
  await respond.getByRole('button').click();
  await respond.getByText('入力してください。').waitFor();
  const answer = '貸出記録簿と持出し承認簿の写し（計3枚）を本日、CSIRT宛てに庁内便で送付しました。';
  await head.getByLabel('回答 (必須)').fill(answer);
  assert.deepEqual(await unlabelled(head), []);
  await respond.getByRole('button').click();
  // Answered: no longer a request to respond to.
  await requestRow(head, `${caseId}/r1`).waitFor({ state: 'detached' });

  // r4: the personal notebook PC is submitted with the response and
  // becomes an item; its seal number is required (request.c).
  const h4 = requestRow(head, `${caseId}/r4`);
  await h4.getByRole('button', { name: '受領する' }).click();
  await head.locator('form[data-request-action="acknowledge"]').getByRole('button').click();
  await h4.getByRole('button', { name: '回答する' }).click();
  const respond4 = head.locator('form[data-request-action="respond"]');
  await head.getByLabel('回答 (必須)').fill('本人所有のノートPCを封印のうえ提出します。');
  await respond4.getByRole('button', { name: '機器を追加' }).click();
  await head.getByLabel('種別', { exact: true }).selectOption({ label: '端末等' });
  await head.getByLabel('製造番号・IMEI').fill('SN-5CD1234XYZ');
  assert.equal(await head.getByLabel('所有区分', { exact: true }).inputValue(), 'OWNERSHIP_PERSONAL');
  await head.getByLabel('所有者', { exact: true }).fill('山田 太郎');
  assert.deepEqual(await unlabelled(head), []);
  await shot(head, '11b-respond-with-device');
  await respond4.getByRole('button', { name: '回答する' }).click();
  await respond4.locator('fieldset.device').getByText('入力してください。').waitFor();
  await head.getByLabel('封印番号').fill('S-0001');
  await respond4.getByRole('button', { name: '回答する' }).click();
  // Answered, and r2 and r3 were cancelled: nothing is left to do.
  await head.getByText('該当する調査要請はありません。').waitFor();
  assertClean(assert, head);

  await lead.reload();
  await r1.locator('[data-field="request.state"]').getByText('回答済').waitFor();
  await r1.getByText(answer).waitFor();
  await requestRow(lead, `${caseId}/r2`).locator('[data-field="request.state"]').getByText('取消').waitFor();
  assert.deepEqual(await requestButtons(r1), ['完了とする', '要請を取り消す']);
  assert.deepEqual(await requestButtons(requestRow(lead, `${caseId}/r2`)), []);
  await r1.getByRole('button', { name: '完了とする' }).click();
  await lead.getByLabel('コメント').fill('写しの受領を確認した。');
  await lead.locator('form[data-request-action="fulfil"]').getByRole('button').click();
  await r1.locator('[data-field="request.state"]').getByText('完了').waitFor();
  for (const type of ['request.created', 'request.acknowledged', 'request.responded', 'request.fulfilled',
    'request.cancelled']) {
    await lead.locator(`.timeline li[data-type="${type}"]`).first().waitFor();
  }
  await lead.locator('.timeline li[data-type="request.responded"]').first().getByText('tanaka').waitFor();
  const item = lead.locator('tr[data-item="i1"]');
  await item.getByText('SN-5CD1234XYZ').waitFor();
  await item.getByText('保管中').waitFor();
  await shot(lead, '12-request-fulfilled');
  assertClean(assert, lead);
  const c = (await api(world.origin, world.tokens.yamada, 'CaseService/GetCase', { id: caseId })).case;
  assert.equal(c.requests[0].state, 'REQUEST_STATE_FULFILLED');
  assert.equal(c.requests[0].kind, 'REQUEST_KIND_MATERIAL');
  assert.equal(Date.parse(c.requests[0].due), Date.parse(dueUtc));
  assert.equal(c.requests[0].response, answer);
  assert.equal(c.requests[0].acknowledged_by, 'tanaka');
  assert.equal(c.requests[1].state, 'REQUEST_STATE_CANCELLED');
  assert.equal(c.requests[2].state, 'REQUEST_STATE_CANCELLED');
  assert.equal(c.requests[3].state, 'REQUEST_STATE_RESPONDED');
  assert.deepEqual(c.requests[3].item_ids, ['i1']);
  assert.equal(c.items[0].serial, 'SN-5CD1234XYZ');
  assert.equal(c.items[0].seal_number, 'S-0001');
  assert.equal(c.items[0].owner_name, '山田 太郎');
  assert.equal(c.items[0].holder, 'tanaka');
});

test('evidence: a 3 MiB file goes up in chunks with a progress bar, resumes, and comes back intact', async () => {
  assert.ok(caseId);
  const dir = mkdtempSync(join(tmpdir(), 'web-evidence-'));
  const name = '端末ログ_2026.bin';
  const file = join(dir, name);
  const bytes = randomBytes(3 * 1024 * 1024 + 12345);
  writeFileSync(file, bytes);
  const sha = createHash('sha256').update(bytes).digest('hex');
  const lead = await newPage(world);
  await login(world, lead, 'yamada');
  await lead.goto(`${world.origin}/#/case/${caseId}`);
  await lead.getByRole('heading', { name: '証拠ファイル' }).waitFor();
  await lead.getByText('登録された証拠ファイルはありません。').waitFor();
  // The answer to the second chunk is lost after the daemon stored it:
  // the client must ask where the upload is and go on from there.
  const appends = [];
  let statuses = 0;
  await lead.route('**/twirp/csirt.v1.EvidenceService/*', async (route) => {
    const url = route.request().url();
    if (url.endsWith('/GetEvidenceUpload')) statuses += 1;
    if (!url.endsWith('/AppendEvidence')) return route.fallback();
    appends.push(JSON.parse(route.request().postData()).offset);
    if (appends.length !== 2) return route.fallback();
    await route.fetch();
    return route.abort('connectionreset');
  });
  await lead.evaluate(() => {
    window.progressSeen = [];
    new MutationObserver((ms) => {
      for (const m of ms) {
        if (m.target.id === 'upload-progress') {
          window.progressSeen.push([m.target.value, m.target.nextElementSibling.textContent]);
        }
      }
    }).observe(document.body, { attributes: true, subtree: true, attributeFilter: ['value'] });
  });
  await lead.getByRole('button', { name: '証拠ファイルの登録' }).click();
  await lead.getByLabel('ファイル', { exact: true }).setInputFiles(file);
  assert.equal(await lead.getByLabel('機密性', { exact: true }).inputValue(), 'CONFIDENTIALITY_MEDIUM');
  assert.deepEqual(await unlabelled(lead), []);
  await shot(lead, '13-evidence-upload-form');
  await lead.locator('form[data-evidence-action="upload"]').getByRole('button', { name: '登録する' }).click();
  await lead.getByRole('status').getByText(`登録しました: ${name} 第1版`).waitFor();
  // Four chunks of at most 1 MiB at their exact offsets, none sent twice.
  assert.deepEqual(appends, ['0', '1048576', '2097152', '3145728']);
  assert.equal(statuses, 1);
  const seen = await lead.evaluate(() => window.progressSeen);
  const sending = seen.filter(([, text]) => text.startsWith('送信中'));
  assert.ok(sending.length >= 4, JSON.stringify(seen));
  for (let i = 1; i < sending.length; i++) assert.ok(sending[i][0] >= sending[i - 1][0]);
  assert.deepEqual(sending[sending.length - 1],
    [100, `送信中… ${bytes.length.toLocaleString('ja-JP')} / ${bytes.length.toLocaleString('ja-JP')} バイト (100 %)`]);
  const items = (await api(world.origin, world.tokens.yamada, 'EvidenceService/ListEvidence',
    { case_id: caseId })).items;
  assert.equal(items.length, 1);
  const eid = items[0].evidence_id;
  assert.equal(items[0].versions[0].sha256, sha);
  assert.equal(items[0].versions[0].size, String(bytes.length));
  const row = lead.locator(`tr[data-evidence="${eid}/v1"]`);
  await row.getByText(name).waitFor();
  assert.equal(await row.locator('code.sha256').textContent(), sha);
  await lead.locator('.timeline li[data-type="evidence.added"]').getByText(name).waitFor();

  // Download: chunks into a Blob, offered through an object URL.
  await row.getByRole('button', { name: `ダウンロード: ${name} 第1版` }).click();
  const save = row.getByRole('link', { name: `保存する: ${name}` });
  await save.waitFor();
  await row.getByText('(100 %)').waitFor();
  assert.equal(await row.locator('progress').evaluate((p) => p.value), 100);
  assert.match(await save.getAttribute('href'), /^blob:/);
  const [dl] = await Promise.all([lead.waitForEvent('download'), save.click()]);
  assert.equal(dl.suggestedFilename(), name);
  const got = readFileSync(await dl.path());
  assert.equal(got.length, bytes.length);
  assert.equal(createHash('sha256').update(got).digest('hex'), sha);
  await shot(lead, '14-evidence-downloaded');
  // A second version of the same item needs its reason (checked before
  // sending, as the daemon would).
  const file2 = join(dir, '端末ログ_2026_v2.txt');
  writeFileSync(file2, 'ログ抽出をやり直した版。\n');
  await lead.getByRole('button', { name: '証拠ファイルの登録' }).click();
  await lead.getByLabel('ファイル', { exact: true }).setInputFiles(file2);
  await lead.getByLabel('登録先').selectOption(eid);
  const upform = lead.locator('form[data-evidence-action="upload"]');
  await upform.getByRole('button', { name: '登録する' }).click();
  await upform.getByText('入力してください。').waitFor();
  await lead.getByLabel('理由', { exact: true }).fill('抽出範囲の誤りを訂正した。');
  await upform.getByRole('button', { name: '登録する' }).click();
  await lead.getByRole('status').getByText('登録しました: 端末ログ_2026_v2.txt 第2版').waitFor();
  await lead.locator(`tr[data-evidence="${eid}/v2"]`).getByText('抽出範囲の誤りを訂正した。').waitFor();
  await lead.locator(`tr[data-evidence="${eid}/v1"]`).waitFor();
  assertClean(assert, lead);

  // 別表第3: the 所属長 sees the item but not its 機密性中 content.
  const head = await newPage(world);
  await login(world, head, 'tanaka');
  await head.goto(`${world.origin}/#/case/${caseId}`);
  const hrow = head.locator(`tr[data-evidence="${eid}/v1"]`);
  await hrow.getByText('機密性中の内容は、所属長の役割では閲覧できません (別表第3)。').waitFor();
  assert.equal(await hrow.getByRole('button').count(), 0);
  assert.equal(await head.getByRole('button', { name: '証拠ファイルの登録' }).count(), 0);
  assertClean(assert, head);
  // The auditor may read 機密性中; raised to 機密性高 (第4.5) behind the
  // page's back, the daemon's refusal is shown as a sentence.
  const audit = await newPage(world);
  await login(world, audit, 'suzuki');
  await audit.goto(`${world.origin}/#/case/${caseId}`);
  const arow = audit.locator(`tr[data-evidence="${eid}/v1"]`);
  await arow.getByRole('button', { name: `ダウンロード: ${name} 第1版` }).waitFor();
  await api(world.origin, world.tokens.sato, 'EvidenceService/ReclassifyEvidence', {
    evidence_id: eid, reason: '個人情報を含むことが判明したため。',
    classification: { confidentiality: 'CONFIDENTIALITY_HIGH', integrity: 'INTEGRITY_LOW',
      availability: 'AVAILABILITY_LOW' },
  });
  await arow.getByRole('button', { name: `ダウンロード: ${name} 第1版` }).click();
  await arow.getByRole('alert')
    .getByText('この証拠ファイルの内容を閲覧または登録する権限がありません (別表第3)。').waitFor();
  await audit.reload();
  await arow.getByText('機密性高の内容は、監査担当の役割では閲覧できません (別表第3)。').waitFor();
  await shot(audit, '15-evidence-refused');
  assertClean(assert, audit);
  rmSync(dir, { recursive: true, force: true });
});

test('a title with <script> and <img onerror> renders as text and runs nothing', async () => {
  const canary = '<script>window.__pwned=1;alert("s")</script><img src=x onerror="window.__pwned=2;alert(1)">';
  const r = await api(world.origin, world.tokens.tanaka, 'CaseService/ReportIncident', {
    case: {
      category: 'CATEGORY_MALWARE_INTRUSION', title: canary,
      description: '<b onmouseover=alert(3)>概要</b>',
      recognized_at: ago(60000),
      classification: { confidentiality: 'CONFIDENTIALITY_LOW', integrity: 'INTEGRITY_LOW',
        availability: 'AVAILABILITY_LOW' },
    },
  });
  const id = r.case.id;
  const page = await newPage(world);
  const imgRequests = [];
  page.on('request', (q) => {
    if (/\/x$/.test(q.url())) imgRequests.push(q.url());
  });
  await login(world, page, 'sato');
  await page.locator(`tr[data-case="${id}"]`).waitFor();
  assert.equal(await page.locator(`tr[data-case="${id}"] td`).nth(1).textContent(), canary);
  await page.goto(`${world.origin}/#/case/${id}`);
  await page.locator('.case-title').waitFor();
  assert.equal(await page.locator('.case-title').textContent(), canary);
  await page.getByText('<b onmouseover=alert(3)>概要</b>').hover();
  await page.locator('.timeline li').first().getByText(canary).waitFor();
  await shot(page, '06-canary');
  // Someone else acknowledged it meanwhile: the stale button gets the
  // daemon's refusal as a sentence.
  await api(world.origin, world.tokens.sato, 'CaseService/Acknowledge', { id });
  await page.getByRole('button', { name: '受理する' }).click();
  await page.locator('form[data-action="acknowledge"]').getByRole('button').click();
  await page.getByRole('alert')
    .getByText('この事案の現在の状態では、この操作はできません。画面を更新してください。').waitFor();
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.equal(await page.locator('main img, main script, main b').count(), 0);
  assert.deepEqual(page.dialogs, []);
  assert.deepEqual(imgRequests, []);
  assertClean(assert, page);
});

// Tab until `pred` holds for the focused element (at most 80 presses).
async function tabTo(page, pred, arg) {
  for (let i = 0; i < 80; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(pred, arg)) return;
  }
  throw new Error(`never focused: ${pred}`);
}

const focusedLabel = (text) => {
  const el = document.activeElement;
  if (!el) return false;
  if (el.labels && el.labels.length) return el.labels[0].textContent === text;
  return el.textContent === text;
};

test('the report form works from the keyboard alone', async () => {
  const page = await newPage(world);
  await page.goto(`${world.origin}/`);
  // The token field has the focus on arrival.
  await page.keyboard.type(world.tokens.tanaka);
  await page.keyboard.press('Enter');
  await page.getByText('ログイン中').waitFor();
  await tabTo(page, focusedLabel, '事案の報告');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: '事案の報告 (第13.1)' }).waitFor();
  // Radio group: Tab reaches it, arrows move, Space chooses.
  await tabTo(page, focusedLabel, '(1) 情報流出事案');
  await page.keyboard.press('Space');
  for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowDown');
  await tabTo(page, focusedLabel, '件名');
  await page.keyboard.type('私有USBメモリの無許可使用');
  await page.keyboard.press('Tab');
  await page.keyboard.type('事務室で私有のUSBメモリが業務端末に接続されていた。');
  await tabTo(page, focusedLabel, '機器を追加');
  await page.keyboard.press('Space');
  // The new row's kind has the focus: choose with the arrow keys.
  assert.ok(await page.evaluate(focusedLabel, '種別'));
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  await tabTo(page, focusedLabel, '所有区分');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  for (const l of ['機密性', '完全性', '可用性']) {
    await tabTo(page, focusedLabel, l);
    await page.keyboard.press('ArrowDown');
  }
  await tabTo(page, focusedLabel, '報告する');
  await page.keyboard.press('Enter');
  const done = page.getByRole('status').filter({ hasText: '報告しました。' });
  await done.waitFor();
  const id = /(\d{4}-\d{6})/.exec(await done.textContent())[1];
  const c = (await api(world.origin, world.tokens.tanaka, 'CaseService/GetCase', { id })).case;
  assert.equal(c.category, 'CATEGORY_PERSONAL_DEVICE_MISUSE');
  assert.equal(c.title, '私有USBメモリの無許可使用');
  assert.equal(c.equipment[0].kind, 'EQUIPMENT_KIND_EXTERNAL_MEDIA');
  assert.equal(c.equipment[0].owner, 'OWNERSHIP_PERSONAL');
  assert.equal(c.classification.confidentiality, 'CONFIDENTIALITY_LOW');
  await shot(page, '07-keyboard-report');
  assertClean(assert, page);
});

// Waits until the case list shows `n` rows (the old table stays until the
// new answer replaces it).
function rows(page, n) {
  return page.waitForFunction((k) => document.querySelectorAll('table.cases tbody tr').length === k, n);
}

test('the list filters, pages and marks; nothing left the daemon\'s origin', async () => {
  const page = await newPage(world);
  await login(world, page, 'sato');
  await rows(page, 3);
  await page.getByLabel('状態').selectOption({ label: '調査中' });
  await page.getByRole('button', { name: '絞り込む' }).click();
  await rows(page, 1);
  await page.locator(`tr[data-case="${caseId}"]`).waitFor();
  await page.getByLabel('状態').selectOption({ label: 'すべて' });
  await page.getByLabel('件名・概要に含む語').fill('USBメモリ');
  await page.getByRole('button', { name: '絞り込む' }).click();
  await page.locator('table.cases tbody tr', { hasText: '私有USBメモリの無許可使用' }).waitFor();
  await rows(page, 1);
  assert.deepEqual(await unlabelled(page), []);
  await shot(page, '08-list');

  // Cursor pages of 20: 3 cases + 20 more (one recognised two hours
  // before its report, so flagged report_late).
  const cl = { confidentiality: 'CONFIDENTIALITY_LOW', integrity: 'INTEGRITY_LOW',
    availability: 'AVAILABILITY_LOW' };
  for (let i = 0; i < 20; i++) {
    await api(world.origin, world.tokens.tanaka, 'CaseService/ReportIncident', {
      case: { category: 'CATEGORY_SERIOUS_OUTAGE', title: `庁内ネットワーク障害 ${i}`,
        recognized_at: ago(i === 0 ? 2 * 3600 * 1000 : 60000), classification: cl },
    });
  }
  await page.getByLabel('件名・概要に含む語').fill('');
  await page.getByRole('button', { name: '絞り込む' }).click();
  await rows(page, 20);
  assert.equal(await page.getByRole('button', { name: '前のページ' }).count(), 0);
  await page.getByRole('button', { name: '次のページ' }).click();
  await rows(page, 3);
  assert.equal(await page.getByRole('button', { name: '次のページ' }).count(), 0);
  const late = page.locator('tr', { hasText: '庁内ネットワーク障害 0' });
  await page.getByRole('button', { name: '前のページ' }).click();
  await rows(page, 20);
  const seen = [...await page.locator('table.cases tbody tr').evaluateAll((r) => r.map((x) => x.dataset.case))];
  await page.getByRole('button', { name: '次のページ' }).click();
  await rows(page, 3);
  const rest = await page.locator('table.cases tbody tr').evaluateAll((r) => r.map((x) => x.dataset.case));
  assert.equal(new Set([...seen, ...rest]).size, 23);
  if ((await late.count()) === 0) {
    await page.getByRole('button', { name: '前のページ' }).click();
    await rows(page, 20);
  }
  await late.getByText('報告遅延').waitFor();
  assert.equal(await page.locator('.badge-late').count(), 1);
  // Every context routed every request: none went elsewhere.
  assertClean(assert, page);
  assert.deepEqual(world.foreign, []);
});

// A case nobody acknowledges within ack_limit_s: the daemon records
// deadline.missed and the list marks it overdue.  The wait is for that
// event (bounded), never a fixed sleep.
test('an unacknowledged case shows the overdue badge', async () => {
  const w2 = await startWorld('ack_limit_s = 1\n');
  try {
    const r = await api(w2.origin, w2.tokens.tanaka, 'CaseService/ReportIncident', {
      case: { category: 'CATEGORY_LOST_EQUIPMENT', title: 'USBメモリの紛失',
        recognized_at: ago(60000),
        classification: { confidentiality: 'CONFIDENTIALITY_HIGH', integrity: 'INTEGRITY_HIGH',
          availability: 'AVAILABILITY_LOW' } },
    });
    const id = r.case.id;
    for (let i = 0; i < 300; i++) {
      const c = (await api(w2.origin, w2.tokens.sato, 'CaseService/GetCase', { id })).case;
      if (c.overdue) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    const page = await newPage(w2);
    await login(w2, page, 'sato');
    await page.getByLabel('期限超過のみ').check();
    await page.getByRole('button', { name: '絞り込む' }).click();
    await page.locator(`tr[data-case="${id}"]`).getByText('期限超過').waitFor();
    await page.locator(`tr[data-case="${id}"] a`).click();
    await page.locator('.timeline li[data-type="deadline.missed"]').waitFor();
    await page.locator('h1 .badge-overdue').waitFor();
    await shot(page, '09-overdue');
    assertClean(assert, page);

    // A 第13.2 request past its due time: deadline.missed from the daemon,
    // and the badge in the 所属長's "requests to respond to".
    const r2 = await api(w2.origin, w2.tokens.tanaka, 'CaseService/ReportIncident', {
      case: { category: 'CATEGORY_INFORMATION_LEAK', title: '資料の誤送信', recognized_at: ago(60000),
        classification: { confidentiality: 'CONFIDENTIALITY_LOW', integrity: 'INTEGRITY_LOW',
          availability: 'AVAILABILITY_LOW' } },
    });
    const id2 = r2.case.id;
    // The daemon itself may have escalated it already (ack_limit_s = 1).
    await api(w2.origin, w2.tokens.sato, 'CaseService/Escalate', { id: id2 }).catch((e) => {
      if (!/in state ESCALATED/.test(e.message)) throw e;
    });
    await api(w2.origin, w2.tokens.yamada, 'CaseService/OpenInvestigation', { id: id2 });
    // Due 3 s from now; on a machine so loaded that the request reaches
    // the writer after that, it is refused as not in the future: try again.
    for (let attempt = 0; ; attempt++) {
      const due = new Date(Math.ceil(Date.now() / 1000) * 1000 + 3000).toISOString().replace(/\.\d+Z$/, 'Z');
      try {
        await api(w2.origin, w2.tokens.yamada, 'CaseService/CreateRequest',
          { case_id: id2, kind: 'REQUEST_KIND_MATERIAL', description: '送信記録の提出', due });
        break;
      } catch (e) {
        if (attempt >= 5 || !/is not in the future/.test(e.message)) throw e;
      }
    }
    for (let i = 0; i < 300; i++) {
      const c = (await api(w2.origin, w2.tokens.yamada, 'CaseService/GetCase', { id: id2 })).case;
      if (c.requests[0].overdue) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    const head = await newPage(w2);
    await login(w2, head, 'tanaka');
    await head.getByRole('link', { name: '対応が必要な調査要請' }).click();
    const row = head.locator(`tr[data-request="${id2}/r1"]`);
    await row.getByText('送信記録の提出').waitFor();
    await row.locator('[data-field="request.state"] .badge-overdue').getByText('期限超過').waitFor();
    await shot(head, '16-request-overdue');
    assertClean(assert, head);
    assert.deepEqual(w2.foreign, []);
  } finally {
    await w2.stop();
  }
});
