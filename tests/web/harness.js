// harness.js - what the browser tests share: a real csirtd on a free
// loopback port with a fresh data directory, users seeded through the
// Twirp API as the administrator, and Debian's chromium driven by
// playwright-core (never a downloaded browser).
//
// Environment (set by tools/check-web.sh from CTest):
//   CSIRTD_BIN      the daemon to test (required)
//   WEB_ARTIFACTS   where screenshots go (default: a temporary directory)
//   CHROMIUM_BIN    the browser (default /usr/bin/chromium)

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const CSIRTD = process.env.CSIRTD_BIN;
export const ARTIFACTS = process.env.WEB_ARTIFACTS || mkdtempSync(join(tmpdir(), 'web-artifacts-'));
export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

// Starts `csirtd run` and resolves once it prints its address.
function startDaemon(data, extra) {
  return new Promise((resolve, reject) => {
    const child = spawn(CSIRTD, ['--listen', '127.0.0.1:0', '--data', data, ...extra],
      { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`csirtd exited with ${code}: ${out}`)));
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        child.removeAllListeners('exit');
        resolve({ child, origin: m[1] });
      }
    });
  });
}

// One Twirp call with JSON.
export async function api(origin, tok, method, body) {
  const res = await fetch(`${origin}/twirp/csirt.v1.${method}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${tok}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const data = await res.json();
  if (!res.ok) throw new Error(`${method}: ${res.status} ${JSON.stringify(data)}`);
  return data;
}

// The daemon with a division, one user of each case role and their
// tokens; `config` is the text of a csirtd config file (may be empty).
export async function startWorld(config = '') {
  const dir = mkdtempSync(join(tmpdir(), 'csirt-web-'));
  const data = join(dir, 'var');
  const init = execFileSync(CSIRTD, ['--data', data, 'init'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const admin = /administrator token: (\S+)/.exec(init)[1];
  const extra = [];
  if (config) {
    writeFileSync(join(dir, 'csirtd.conf'), config);
    extra.push('--config', join(dir, 'csirtd.conf'));
  }
  const { child, origin } = await startDaemon(data, extra);
  await api(origin, admin, 'DirectoryService/CreateDivision',
    { division: { code: 'd1', name: '生活安全総務課' } });
  const users = {
    tanaka: { display_name: '田中 一郎', role: 'ROLE_REPORTER', division: 'd1' },
    sato: { display_name: '佐藤 花子', role: 'ROLE_SECURITY_MANAGER' },
    yamada: { display_name: '山田 太郎', role: 'ROLE_CSIRT_LEAD' },
    suzuki: { display_name: '鈴木 次郎', role: 'ROLE_AUDITOR' },
    inoue: { display_name: '井上 三郎', role: 'ROLE_INVESTIGATOR' },
  };
  const tokens = {};
  for (const [login, u] of Object.entries(users)) {
    await api(origin, admin, 'DirectoryService/CreateUser', { user: { login, ...u } });
    tokens[login] = (await api(origin, admin, 'DirectoryService/IssueToken', { login })).token;
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in CI has no user namespace sandbox to offer.
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
  });
  const world = { dir, data, origin, admin, tokens, browser, foreign: [], contexts: [] };
  world.stop = async () => {
    await browser.close();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  };
  return world;
}

// A fresh browser context whose every request to any origin but the
// daemon's is refused and recorded in world.foreign (asserted empty).
export async function newPage(world) {
  const context = await world.browser.newContext({ locale: 'ja-JP', timezoneId: 'Asia/Tokyo' });
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (new URL(url).origin === world.origin) return route.continue();
    world.foreign.push(url);
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  page.dialogs = [];
  page.on('dialog', (d) => {
    page.dialogs.push(d.message());
    d.dismiss().catch(() => {});
  });
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  // Chromium reports each Content-Security-Policy violation on the
  // console: the client itself must cause none.
  page.cspViolations = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/.test(m.text())) page.cspViolations.push(m.text());
  });
  world.contexts.push(context);
  return page;
}

// Logs in through the login form.
export async function login(world, page, who) {
  await page.goto(`${world.origin}/`);
  await page.getByLabel('トークン').fill(world.tokens[who]);
  await page.getByRole('button', { name: 'ログイン' }).click();
  await page.getByText('ログイン中').waitFor();
}

export async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

// Controls without a label: ids of inputs, selects and textareas that no
// <label> names (an aria-label does not count: a visible label is wanted).
export function unlabelled(page) {
  return page.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
    .filter((el) => el.type !== 'hidden' && el.labels.length === 0)
    .map((el) => el.outerHTML));
}

// No script error and no CSP violation on `page` so far.
export function assertClean(assert, page) {
  assert.deepEqual(page.errors, []);
  assert.deepEqual(page.cspViolations, []);
}

// RFC 3339 (UTC, whole seconds) of `ms` milliseconds ago.
export function ago(ms) {
  return new Date(Date.now() - ms).toISOString().replace(/\.\d+Z$/, 'Z');
}
