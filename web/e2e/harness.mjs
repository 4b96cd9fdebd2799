// End-to-end harness: a real `trialcore serve` on a fresh demo database,
// Debian's Chromium driven by playwright-core, one browser context (one
// cookie jar) per user, and a screenshot of each test's last page.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
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

export class Server {
  // Builds the demo database and serves it with the built web application.
  // With { shiftedClock: true } the server is the test program whose clock
  // shiftClock() moves; otherwise it is trialcore itself on the real clock.
  static async start(extraArgs = [], { shiftedClock = false } = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'trialcore-e2e-'));
    execFileSync(BIN, ['demo', '--db', 'demo.db', '--key', 'key.pem', '--no-serve'], { cwd: dir, stdio: 'ignore' });
    const clockFile = shiftedClock ? join(dir, 'clock') : null;
    if (clockFile) writeFileSync(clockFile, '0');
    const proc = spawn(clockFile ? SHIFTED_CLOCK_BIN : BIN, ['serve', '--db', 'demo.db', '--port', '0', '--web', WEB, ...extraArgs], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: clockFile ? { ...process.env, TRIALCORE_CLOCK_FILE: clockFile } : process.env,
    });
    let log = '';
    proc.stderr.on('data', (d) => (log += d));
    const url = await new Promise((ok, fail) => {
      let out = '';
      const timer = setTimeout(() => fail(new Error('trialcore serve did not start: ' + out + log)), 15000);
      proc.stdout.on('data', (d) => {
        out += d;
        const m = /(http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
        if (m) {
          clearTimeout(timer);
          ok(m[1]);
        }
      });
      proc.on('exit', (code) => fail(new Error(`trialcore serve exited with ${code}: ${out}${log}`)));
    });
    return new Server(dir, proc, url, clockFile);
  }

  constructor(dir, proc, url, clockFile) {
    this.dir = dir;
    this.proc = proc;
    this.url = url;
    this.clockFile = clockFile;
  }

  // Moves the server's clock forward (sessions expire, lockouts lift).
  shiftClock(seconds) {
    if (!this.clockFile) throw new Error('start the server with { shiftedClock: true } to move its clock');
    writeFileSync(this.clockFile, String(Math.round(seconds * 1e6)));
  }

  async stop() {
    this.proc.kill('SIGTERM');
    await new Promise((ok) => this.proc.once('exit', ok));
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

// Answers the reason dialog (changes, removals, unlocking).
export async function giveReason(page, reason) {
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Reason').fill(reason);
  await dialog.getByRole('button', { name: 'Continue' }).click();
}

export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, name.replace(/[^A-Za-z0-9_-]+/g, '_') + '.png'), fullPage: true });
}

export function studyUrl(rest = '') {
  return `/studies/${STUDY}${rest}`;
}
