// End-to-end harness: a real `trialcore serve` on a fresh demo database (or
// two behind haproxy on PostgreSQL: DEPLOYMENT below),
// Debian's Chromium driven by playwright-core, one browser context (one
// cookie jar) per user, and a screenshot of each test's last page.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const BIN = process.env.TRIALCORE_BIN ?? resolve(here, '../../build/trialcore');
// The same program on a clock the tests move forward; test builds only.
export const SHIFTED_CLOCK_BIN =
  process.env.TRIALCORE_SHIFTED_CLOCK_BIN ?? resolve(here, '../../build/trialcore_shifted_clock');
export const WEB = process.env.TRIALCORE_WEB ?? resolve(here, '../../build/web');
export const ARTIFACTS = process.env.E2E_ARTIFACTS ?? resolve(here, '../../build/e2e-artifacts');
export const PASSWORD = 'demo-password-2026';
export const STUDY = 'CDISCPILOT01';
// The demo study's arms (studies/cdiscpilot01.yaml): no blinded user may see any of these.
export const ARM_TEXTS = ['Placebo', 'Xanomeline Low Dose', 'Xanomeline High Dose', 'Xan_Lo', 'Xan_Hi', 'Pbo'];

// TRIALCORE_E2E_DEPLOYMENT=postgres-haproxy runs the same tests against two
// servers on one PostgreSQL database behind haproxy, as a sponsor's IT
// department deploys trialcore (README); anything else, one server on a
// SQLite file.
export const DEPLOYMENT = process.env.TRIALCORE_E2E_DEPLOYMENT ?? 'sqlite';
// Starts a PostgreSQL 15 for a test and prints a database's URL (src/store/postgres/test_server_main.cc).
export const PG_TEST_SERVER_BIN =
  process.env.TRIALCORE_PG_TEST_SERVER_BIN ?? resolve(here, '../../build/src/store/pg_test_server');

// Waits for a child's first line of output matching re; its first group.
function firstMatch(proc, re, what, logOf) {
  return new Promise((ok, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`${what} did not start: ${out}${logOf()}`)), 30000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = re.exec(out);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
    proc.on('exit', (code) => fail(new Error(`${what} exited with ${code}: ${out}${logOf()}`)));
  });
}

function freePort() {
  return new Promise((ok, fail) => {
    const probe = createServer();
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => ok(port));
    });
  });
}

async function waitForPort(port, what, logOf) {
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    const open = await new Promise((ok) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        ok(true);
      });
      socket.once('error', () => ok(false));
    });
    if (open) return;
    await new Promise((ok) => setTimeout(ok, 50));
  }
  throw new Error(`${what} did not listen on ${port}: ${logOf()}`);
}

function stopped(proc, signal = 'SIGTERM') {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  const exited = new Promise((ok) => proc.once('exit', ok));
  proc.kill(signal);
  return exited;
}

export class Server {
  // Builds the demo database and serves it with the built web application.
  // With { shiftedClock: true } the server is the test program whose clock
  // shiftClock() moves; otherwise it is trialcore itself on the real clock.
  static async start(extraArgs = [], { shiftedClock = false } = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'trialcore-e2e-'));
    const behindHaproxy = DEPLOYMENT === 'postgres-haproxy';
    const children = [];
    let db = 'demo.db';
    let postgres = null;
    if (behindHaproxy) {
      let log = '';
      postgres = spawn(PG_TEST_SERVER_BIN, ['e2e'], { stdio: ['pipe', 'pipe', 'pipe'] });
      postgres.stderr.on('data', (d) => (log += d));
      db = await firstMatch(postgres, /^(postgresql:\/\/\S+)\n/, 'the PostgreSQL test server', () => log);
    }
    execFileSync(BIN, ['demo', '--db', db, '--key', 'key.pem', '--no-serve'], { cwd: dir, stdio: 'ignore' });
    const clockFile = shiftedClock ? join(dir, 'clock') : null;
    if (clockFile) writeFileSync(clockFile, '0');
    // Every server of a deployment reads the same clock file: one clock.
    const serve = async () => {
      const proc = spawn(clockFile ? SHIFTED_CLOCK_BIN : BIN,
        ['serve', '--db', db, '--port', '0', '--web', WEB, '--trusted-proxy', '127.0.0.1', ...extraArgs], {
          cwd: dir,
          stdio: ['ignore', 'pipe', 'pipe'],
          env: clockFile ? { ...process.env, TRIALCORE_CLOCK_FILE: clockFile } : process.env,
        });
      children.push(proc);
      let log = '';
      proc.stderr.on('data', (d) => (log += d));
      return firstMatch(proc, /(http:\/\/127\.0\.0\.1:\d+)\//, 'trialcore serve', () => log);
    };
    let url;
    if (!behindHaproxy) {
      url = await serve();
    } else {
      const servers = [await serve(), await serve()];
      const port = await freePort();
      const config = join(dir, 'haproxy.cfg');
      writeFileSync(config, [
        'global', '  maxconn 4096',
        'defaults', '  mode http', '  timeout connect 2s', '  timeout client 60s', '  timeout server 60s',
        '  timeout tunnel 1h', '  option redispatch', '  retries 2', '  option forwardfor',
        'frontend trialcore', `  bind 127.0.0.1:${port}`, '  default_backend servers',
        // As deploy/haproxy.cfg: each browser stays with one server while it
        // lives, so its reads follow its own writes; users spread over both.
        'backend servers', '  balance roundrobin', '  cookie tc_server insert indirect nocache httponly',
        '  option httpchk HEAD /api/openapi.json',
        ...servers.map((u, i) => `  server s${i + 1} ${u.replace('http://', '')} cookie s${i + 1} check inter 200ms fall 2 rise 1`),
        '',
      ].join('\n'));
      let log = '';
      const haproxy = spawn('haproxy', ['-db', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] });
      haproxy.stdout.on('data', (d) => (log += d));
      haproxy.stderr.on('data', (d) => (log += d));
      children.push(haproxy);
      await waitForPort(port, 'haproxy', () => log);
      url = `http://127.0.0.1:${port}`;
    }
    return new Server(dir, children, postgres, url, clockFile);
  }

  constructor(dir, children, postgres, url, clockFile) {
    this.dir = dir;
    this.children = children;
    this.postgres = postgres;
    this.url = url;
    this.clockFile = clockFile;
  }

  // Moves the server's clock forward (sessions expire, lockouts lift).
  shiftClock(seconds) {
    if (!this.clockFile) throw new Error('start the server with { shiftedClock: true } to move its clock');
    writeFileSync(this.clockFile, String(Math.round(seconds * 1e6)));
  }

  async stop() {
    for (const proc of this.children) await stopped(proc);
    if (this.postgres) await stopped(this.postgres);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// A real SMTP server, Debian's aiosmtpd (python3-aiosmtpd), keeping the
// mail it accepts in a maildir: for the notifier beside a test's server
// (serve --smtp URL --mail-from ADDRESS).
export class SmtpSink {
  static async start() {
    const dir = mkdtempSync(join(tmpdir(), 'trialcore-smtp-'));
    const port = await freePort();
    let log = '';
    const proc = spawn('/usr/bin/python3',
      ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`, '-c', 'aiosmtpd.handlers.Mailbox', join(dir, 'mail')],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout.on('data', (d) => (log += d));
    proc.stderr.on('data', (d) => (log += d));
    await waitForPort(port, 'aiosmtpd', () => log);
    return new SmtpSink(dir, proc, `smtp://127.0.0.1:${port}`);
  }

  constructor(dir, proc, url) {
    this.dir = dir;
    this.proc = proc;
    this.url = url;
  }

  // Every mail received, headers and body, in no particular order.
  mails() {
    const folder = join(this.dir, 'mail', 'new');
    let names = [];
    try {
      names = readdirSync(folder);
    } catch {
      return [];
    }
    return names.map((n) => readFileSync(join(folder, n), 'utf8'));
  }

  async stop() {
    await stopped(this.proc);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-quic',
    ],
  });
}

// Ends a file's tests: no page had a script error or sent a request off the
// machine, then the browser and the server stop.
export async function endSuite(pages, browser, server) {
  for (const p of pages) {
    assert.deepEqual(p.errors, [], `no script errors for ${p.user}`);
    assert.deepEqual(p.offsite, [], `no request left the machine for ${p.user}`);
  }
  await browser?.close();
  await server?.stop();
}

// A user in their own browser context, with page errors collected so a test
// can require there were none.
export async function userPage(browser, server, user, { viewport = { width: 1280, height: 900 } } = {}) {
  const context = await browser.newContext({ viewport, baseURL: server.url });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);  // generous: CI runs these beside the rest of the suite on two cores
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  // The Content-Security-Policy allows nothing inline nor from elsewhere; a violation is an error.
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) page.errors.push(m.text());
  });
  // Every request must stay on this machine.
  page.offsite = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(server.url) && !r.url().startsWith('data:')) page.offsite.push(r.url());
  });
  page.user = user;
  if (user) await login(page, user);
  return page;
}

export async function login(page, user, password = PASSWORD) {
  await page.goto('/');
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('header.top .who').waitFor();
}

// Answers the reason dialog (changes, removals, unlocking). A reason for
// changing saved data, where the study lists standard ones, is "Other" with
// these words, unless `standard` names the one to choose.
export async function giveReason(page, reason, { standard } = {}) {
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  const choice = dialog.getByLabel('Reason for change');
  if (await choice.count()) {
    await choice.selectOption(standard ?? 'other');
    if (!standard) await dialog.getByLabel('Describe the reason').fill(reason);
  } else {
    await dialog.getByLabel('Reason', { exact: true }).fill(reason);
  }
  await dialog.getByRole('button', { name: 'Continue' }).click();
}

export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, name.replace(/[^A-Za-z0-9_-]+/g, '_') + '.png'), fullPage: true });
}

export function studyUrl(rest = '') {
  return `/studies/${STUDY}${rest}`;
}

// axe-core (an npm devDependency), evaluated in the page by the DevTools
// protocol: the Content-Security-Policy forbids inline scripts, and the
// page's own policy is what is under test, so it is not bypassed.
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const WCAG_21_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

// Fails with every WCAG 2.1 A and AA violation axe-core finds on the page as
// it is now (rule, impact, and the first elements), naming `what`.
export async function expectAccessible(page, what) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async (tags) => {
    const result = await window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
    return result.violations.map((v) => `${v.id} (${v.impact}): ${v.help}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
  }, WCAG_21_AA);
  assert.deepEqual(violations, [], `WCAG 2.1 AA violations on ${what}`);
}

// Fails when the page scrolls sideways (only the visit grid may, inside its
// own box) or its header takes more than two lines, naming `what`.
export async function expectFitsWidth(page, what) {
  const { scrollWidth, clientWidth, wide, headerLines } = await page.evaluate(() => {
    const root = document.documentElement;
    const wide = [...document.querySelectorAll('main *')]
      .filter((e) => e.getBoundingClientRect().right > root.clientWidth + 1 && !e.closest('.grid-scroll'))
      .slice(0, 3)
      .map((e) => e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).replace(/ /g, '.') : ''));
    // Lines of the header: the distinct tops of what it shows.
    const tops = [...document.querySelectorAll('header.top > *:not(nav):not(.spacer), header.top nav a')]
      .map((e) => e.getBoundingClientRect())
      .filter((r) => r.width > 1 && r.height > 1)
      .map((r) => r.top)
      .sort((a, b) => a - b);
    const headerLines = tops.filter((t, i) => i === 0 || t - tops[i - 1] > 8).length;
    return { scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, wide, headerLines };
  });
  assert.ok(scrollWidth <= clientWidth, `${what} is ${scrollWidth - clientWidth}px wider than the screen: ${wide.join(', ')}`);
  assert.ok(headerLines <= 2, `the header of ${what} takes ${headerLines} lines`);
}

// From a query inbox listing open queries: closes each in turn with the
// message, until the open ones are gone and none is left answered either.
export async function closeListedQueries(page, message) {
  for (;;) {
    await page.locator('main caption').waitFor();
    const links = page.locator('tbody tr a[href*="/forms/"]');
    if ((await links.count()) === 0) break;
    await links.first().click();
    const thread = page.locator('.thread').first();
    const number = (await thread.getAttribute('aria-label')).replace('Query ', '');
    await page.getByLabel(`Message for query ${number}`).fill(message);
    await page.getByRole('button', { name: 'Close query' }).click();
    await page.getByRole('button', { name: `Query ${number}: closed` }).waitFor();
    await page.goto(studyUrl('/queries?state=open'));
  }
  await page.goto(studyUrl('/queries?state=answered'));
  await page.locator('main caption', { hasText: /^0 queries/ }).waitFor();
}
