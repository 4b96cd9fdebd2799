// Who sees what, and sessions: blinded users never see an arm on any page
// they can reach; a failed login gives one answer whatever the cause; an
// expired session keeps what was typed; administrators manage roles; the
// pages work by keyboard, on a tablet and on a phone, free of WCAG 2.1 AA
// violations; identifying data show as each role may see them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ARM_TEXTS, PASSWORD, Server, closeListedQueries, expectAccessible, expectFitsWidth, giveReason, launchBrowser, login,
  screenshot, studyUrl, userPage,
} from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await Server.start(['--session-idle', '600', '--login-rate', '1000'], { shiftedClock: true });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

// Visits every page of the application a user can reach by following
// links from the study home (up to a limit), returning each page's text.
async function crawl(page, limit = 60) {
  const seen = new Set();
  // Seeds: the home page, lists, and the form whose dose would reveal the arm.
  const queue = [studyUrl(''), studyUrl('/subjects/701-1001/visits/BASELINE/forms/EX'), studyUrl('/subjects'), studyUrl('/queries?state=')];
  const texts = [];
  let deep = 0;
  while (queue.length && seen.size < limit) {
    const path = queue.shift();
    if (seen.has(path)) continue;
    seen.add(path);
    await page.goto(path);
    await page.locator('main h1').first().waitFor();
    await page.locator('main').getByText('Loading…').waitFor({ state: 'detached' });
    await page.locator('main .cell-status, main table, main form, main .error-box').first().waitFor();
    // Open every query thread and dialog-free detail the page offers.
    for (const chip of await page.locator('button.query-chip').all()) await chip.click();
    texts.push({ path, text: await page.locator('body').innerText(), html: await page.content() });
    for (const href of await page.locator('a[href^="/studies/"]').evaluateAll((as) => as.map((a) => a.getAttribute('href')))) {
      const clean = href.split('#')[0];
      if (seen.has(clean) || clean.includes('as_of') || queue.includes(clean)) continue;
      // Forms and audit trails first (a few), so that a short crawl reaches every kind of page.
      if ((clean.includes('/forms/') || clean.includes('/audit')) && deep++ < 12) queue.unshift(clean);
      else queue.push(clean);
    }
  }
  return texts;
}

function armsIn(text) {
  return ARM_TEXTS.filter((arm) => new RegExp(`\\b${arm}\\b`).test(text));
}

test('blinded users see no arm on any page they can reach; the unblinded pharmacist does', async () => {
  const pharmacist = await userPage(browser, server, 'pharm.701');
  try {
    await pharmacist.goto(studyUrl(''));
    await pharmacist.getByRole('heading', { name: 'Treatment arms (unblinded)' }).waitFor();
    // The check below would find these: it is not vacuous.
    assert.deepEqual(armsIn(await pharmacist.locator('body').innerText()), ['Placebo', 'Xanomeline Low Dose', 'Xanomeline High Dose', 'Xan_Lo', 'Xan_Hi', 'Pbo']);
    await pharmacist.goto(studyUrl('/subjects/701-1001/visits/BASELINE/forms/EX'));
    await pharmacist.locator('#item-EXDOSE').waitFor();
  } finally {
    await screenshot(pharmacist, 'unblinded-pharmacist');
  }
  for (const user of ['coord.701', 'inv.701', 'cra.1', 'dm.1', 'sponsor.1']) {
    const page = await userPage(browser, server, user);
    try {
      const pages = await crawl(page, 25);
      assert.ok(pages.length >= 10, `${user} reached ${pages.length} pages`);
      assert.ok(pages.some((p) => p.path.includes('/forms/')), `${user} reached forms`);
      assert.ok(pages.some((p) => p.path.includes('/audit')), `${user} reached an audit trail`);
      for (const p of pages) {
        assert.deepEqual(armsIn(p.text), [], `${user} saw an arm on ${p.path}`);
        assert.ok(!p.html.includes('EXDOSE') && !p.html.includes('Daily dose'), `${user} saw the unblinded dose on ${p.path}`);
      }
      assert.deepEqual(page.errors, []);
    } finally {
      await screenshot(page, `blinded-${user}`);
    }
  }
});

test('a wrong password and a locked account get the one answer that names both; the lock lifts', async () => {
  const page = await userPage(browser, server, null);
  try {
    await page.goto('/');
    // Every answer reads the same, so each attempt waits for its own reply
    // (else the right password can overtake the fifth wrong one).
    const attempt = async (password) => {
      const answered = page.waitForResponse((r) => r.url().endsWith('/api/v1/session') && r.request().method() === 'POST');
      await page.getByLabel('Password').fill(password);
      await page.getByRole('button', { name: 'Log in' }).click();
      const reply = await answered;
      await page.locator('.error-box').waitFor();
      return reply.status();
    };
    await page.getByLabel('User name').fill('sponsor.1');
    for (let i = 0; i < 5; i++) assert.equal(await attempt('wrong password ' + i), 401);
    const first = await page.locator('.error-box').innerText();
    assert.equal(await attempt(PASSWORD), 401, 'the right password is refused while the account is locked');
    assert.match(await page.locator('.error-box').innerText(), /locked/i);
    // The same answer whatever the cause, so that it tells no one whether an account exists or is locked.
    assert.match(first, /wrong user name or password, or the account is locked/i);
    // The lock lifts as time passes.
    server.shiftClock(61 * 60);
    await new Promise((r) => setTimeout(r, 100));
    await login(page, 'sponsor.1');
  } finally {
    server.shiftClock(0);
    await screenshot(page, 'login-locked');
  }
});

test('an expired session keeps what was typed: the user logs in again and the save goes through', async () => {
  const page = await userPage(browser, server, 'coord.701');
  try {
    await page.goto(studyUrl('/subjects/701-1001/visits/RASHFU/forms/SV'));
    const checked = page.waitForResponse((r) => r.url().endsWith('/check') && (r.request().postData() ?? '').includes('2026-05-01'));
    await page.locator('#item-SVSTDTC').fill('2026-05-01');
    await checked;  // the edit checks have answered while the session was alive
    // Twenty minutes pass: the session (idle limit ten) has ended.
    server.shiftClock(20 * 60);
    await new Promise((r) => setTimeout(r, 300));  // the server re-reads its clock every 20 ms
    await page.getByRole('button', { name: 'Save' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('Your session has expired.').waitFor();
    // Left for the Save button, the field shows the date in the one format (dd-MMM-yyyy).
    assert.equal(await page.locator('#item-SVSTDTC').inputValue(), '01-MAY-2026', 'the typed date is still there');
    await dialog.getByLabel('Password').fill(PASSWORD);
    await dialog.getByRole('button', { name: 'Log in' }).click();
    await page.locator('.ok-box').getByText('Saved Visit at Rash followup').waitFor();
    await page.reload();
    assert.equal(await page.locator('#item-SVSTDTC').inputValue(), '01-MAY-2026');
  } finally {
    await screenshot(page, 'session-expired-kept-input');
  }
});

test('a study administrator grants a role; the new monitor then sees only that site', async () => {
  const admin = await userPage(browser, server, 'sysadmin');
  try {
    await admin.locator('header nav').getByRole('link', { name: 'Administration' }).click();
    const create = admin.locator('section[aria-labelledby=new-title]');
    await create.getByLabel('User name').fill('cra.708');
    await create.getByLabel('Full name').fill('Morgan Monitor');
    await create.getByLabel('Initial password').fill('a long enough password');
    await create.getByRole('button', { name: 'Create' }).click();
    await admin.locator('.ok-box').getByText('Account cra.708 created').waitFor();
    const grant = admin.locator('section[aria-labelledby=grant-title]');
    await grant.getByLabel('User').selectOption('cra.708');
    await grant.getByLabel('Role').selectOption('monitor');
    await grant.getByLabel('Site').selectOption('708');
    await grant.getByRole('button', { name: 'Grant' }).click();
    await admin.locator('tr', { hasText: 'Morgan Monitor' }).getByText('Monitor (CRA) @ 708').waitFor();
    // Revoked, then granted again: the second grant asks for a reason.
    await admin.getByRole('button', { name: 'Revoke monitor at 708 from cra.708' }).click();
    await giveReason(admin, 'assigned elsewhere for a week');
    await admin.locator('.ok-box').getByText('Revoked monitor at 708 from cra.708').waitFor();
    await grant.getByLabel('User').selectOption('cra.708');
    await grant.getByLabel('Role').selectOption('monitor');
    await grant.getByLabel('Site').selectOption('708');
    await grant.getByRole('button', { name: 'Grant' }).click();
    await giveReason(admin, 'back on site 708');
    await admin.locator('tr', { hasText: 'Morgan Monitor' }).getByText('Monitor (CRA) @ 708').waitFor();
  } finally {
    await screenshot(admin, 'administration');
  }
  await new Promise((r) => setTimeout(r, 1100)); // account changes apply within a second
  const monitor = await userPage(browser, server, null);
  await login(monitor, 'cra.708', 'a long enough password');
  await monitor.goto(studyUrl('/subjects'));
  await monitor.locator('caption').waitFor();
  const sites = await monitor.locator('tbody tr td:nth-child(2)').allInnerTexts();
  assert.ok(sites.length > 0 && sites.every((s) => s === '708'), `only site 708: ${sites}`);
});

test('the casebook and a form work by keyboard alone and fit a tablet', async () => {
  const page = await userPage(browser, server, 'coord.701', { viewport: { width: 768, height: 1024 } });
  try {
    await page.goto(studyUrl('/subjects/701-1001'));
    await page.locator('table.grid').waitFor();
    // Keyboard: the skip link, then tab into the grid and open a form with Enter.
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
    const cell = page.locator('a[data-cell="WEEK2/VS"]');
    await cell.focus();
    await page.keyboard.press('Enter');
    await page.locator('#item-SYSBP').waitFor();
    // Every input has a label a screen reader reads.
    const unlabelled = await page.locator('main input:not([type=hidden]), main select, main textarea').evaluateAll((els) =>
      els.filter((e) => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.closest('fieldset[aria-describedby], fieldset.choices')).map((e) => e.id || e.outerHTML.slice(0, 60)),
    );
    assert.deepEqual(unlabelled, []);
    // Nothing wider than the tablet's screen but the scrolling grid.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
  } finally {
    await screenshot(page, 'tablet-keyboard');
  }
});

// Every staff page, as the roles that use it, at a laptop's and a phone's width.
const STAFF_PAGES = [
  ['coord.701', ['', '/subjects', '/subjects/701-1001', '/subjects/701-1001/visits/WEEK2/forms/VS',
    '/subjects/701-1001/visits/SCREENING1/forms/DM', '/queries?state=', '/subjects/701-1001/audit']],
  ['cra.1', ['', '/subjects/701-1001/visits/WEEK2/forms/VS', '/sdv']],
  ['dm.1', ['/reports', '/lock']],
  ['inv.701', ['/subjects/701-1001']],
  ['admin', ['/admin']],
  ['sponsor.1', ['/subjects/701-1001/visits/SCREENING1/forms/DM']],
];

test('every staff page fits a phone (375 px) with a two-line header and has no WCAG 2.1 AA violation at 375 and 1366 px', async () => {
  for (const width of [375, 1366]) {
    for (const [user, paths] of STAFF_PAGES) {
      const page = await userPage(browser, server, user, { viewport: { width, height: 800 } });
      try {
        for (const path of paths) {
          await page.goto(studyUrl(path));
          await page.locator('main h1').first().waitFor();
          await page.locator('main').getByText('Loading…').waitFor({ state: 'detached' });
          await page.locator('main table, main form, main .tiles').first().waitFor();
          const what = `${path || 'the study home'} for ${user} at ${width} px`;
          if (width === 375) await expectFitsWidth(page, what);
          await expectAccessible(page, what);
        }
        assert.deepEqual(page.errors, []);
      } finally {
        await screenshot(page, `staff-pages-${user}-${width}`);
        await page.context().close();
      }
    }
  }
});

test('the sponsor viewer sees the birth year alone and no initials; the coordinator sees both', async () => {
  const form = studyUrl('/subjects/701-1001/visits/SCREENING1/forms/DM');
  const coordinator = await userPage(browser, server, 'coord.701');
  const sponsor = await userPage(browser, server, 'sponsor.1');
  try {
    await coordinator.goto(form);
    const birth = await coordinator.locator('#item-BRTHDTC').inputValue();
    assert.match(birth, /^\d{2}-[A-Z]{3}-\d{4}$/, 'the coordinator sees the whole date');
    const initials = await coordinator.locator('#item-INITIALS').inputValue();
    assert.match(initials, /^[A-Z]{3}$/);
    await sponsor.goto(form);
    const year = birth.slice(-4);
    await sponsor.locator('[data-item="BRTHDTC"]').getByText(`Year ${year} (the full date is not shown to your role)`).waitFor();
    await sponsor.locator('[data-item="INITIALS"]').getByText('Not shown to your role').waitFor();
    const text = await sponsor.locator('main').innerText();
    assert.ok(!text.includes(birth) && !new RegExp(`\\b${initials}\\b`).test(text), 'neither the date nor the initials show');
    assert.ok(!(await sponsor.content()).includes(`${year}-`), 'no date of that year reaches the page');
  } finally {
    await screenshot(sponsor, 'sponsor-identifying');
    await coordinator.context().close();
    await sponsor.context().close();
  }
});

test('the data manager locks the database by its checklist and e-signature; forms turn read only until a signed unlock', async () => {
  const manager = await userPage(browser, server, 'dm.1');
  const coordinator = await userPage(browser, server, 'coord.701');
  try {
    await manager.goto(studyUrl(''));
    await manager.getByRole('link', { name: 'Database lock checklist' }).click();
    const item = (id) => manager.locator(`[data-check=${id}]`);
    await item('unresolved_queries').getByText('These cannot be accepted').waitFor();
    assert.ok(Number(await item('subjects_on_study').locator('.figure').innerText()) > 0, 'the demo has subjects on study');
    // Each outstanding entry links to where it is.
    assert.match(await item('subjects_on_study').locator('ul.refs a').first().getAttribute('href'), /\/subjects\/\d{3}-\d{4}$/);
    await manager.getByRole('button', { name: 'Lock the database…' }).click();
    await manager.locator('.error-box').getByText('The checklist is not complete').waitFor();
    // Close every open query from the inbox.
    await manager.goto(studyUrl('/queries?state=open'));
    await closeListedQueries(manager, 'Resolved at the database review.');
    await manager.goto(studyUrl('/lock'));
    await item('unresolved_queries').locator('.badge', { hasText: 'resolved' }).waitFor();
    // What is left is accepted, each with its reason.
    for (const id of ['subjects_on_study', 'unsigned_casebooks', 'broken_signatures', 'unverified_forms']) {
      if (!(await item(id).evaluate((el) => el.classList.contains('outstanding')))) continue;
      await item(id).getByLabel('Accept for the lock').check();
      await item(id).getByLabel('Why is it acceptable?').fill(`interim lock for the safety review (${id})`);
    }
    // The page fits a phone's width.
    await manager.setViewportSize({ width: 375, height: 800 });
    const overflow = await manager.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the checklist is ${overflow}px wider than the screen`);
    await manager.setViewportSize({ width: 1366, height: 900 });
    await manager.getByRole('button', { name: 'Lock the database…' }).click();
    const dialog = manager.getByRole('dialog');
    await dialog.getByText('You accept:').waitFor();
    await dialog.getByLabel('Password').fill('not my password at all');
    await dialog.getByRole('button', { name: 'Sign and lock' }).click();
    await dialog.locator('.error-box').waitFor();
    await dialog.getByLabel('Password').fill(PASSWORD);
    await dialog.getByRole('button', { name: 'Sign and lock' }).click();
    await manager.locator('.ok-box').getByText('The database is locked.').waitFor();
    await manager.locator('.badge.locked', { hasText: 'Database locked' }).waitFor();

    // The form says why it is read only and invites no change the server would refuse.
    await coordinator.goto(studyUrl('/subjects/701-1001/visits/RETRIEVAL/forms/SV'));
    await coordinator.locator('[data-read-only=database_locked]').getByText('The database is locked').waitFor();
    assert.ok(await coordinator.locator('#item-SVSTDTC').isDisabled(), 'the visit date cannot be typed');
    assert.equal(await coordinator.getByRole('button', { name: 'Save' }).count(), 0);
    assert.equal(await coordinator.getByRole('button', { name: 'Not done…' }).count(), 0);

    await manager.getByLabel('Reason to unlock').fill('late laboratory data for site 701');
    await manager.getByRole('button', { name: 'Unlock the database…' }).click();
    await dialog.getByText('because: late laboratory data for site 701').waitFor();
    await dialog.getByLabel('Password').fill(PASSWORD);
    await dialog.getByRole('button', { name: 'Sign and unlock' }).click();
    await manager.locator('.ok-box').getByText('The database is unlocked.').waitFor();
    // Both are signed events on record: who signed, why, and what the lock accepted.
    const history = manager.locator('section[aria-labelledby=lock-history-title]');
    assert.match(await history.locator('tr[data-lock-event=unlocked]').innerText(), /Database unlocked\s+Dana Data-Manager \(dm\.1\)\s+late laboratory data for site 701/);
    assert.match(await history.locator('tr[data-lock-event=locked]').innerText(), /Dana Data-Manager \(dm\.1\)[\s\S]*Accepted: Subjects still on study or in screening: interim lock for the safety review/);
    // The unlock reaches the open page live: it becomes editable again.
    await coordinator.locator('[data-read-only=database_locked]').waitFor({ state: 'detached' });
    await coordinator.locator('#item-SVSTDTC').fill('2026-07-01');
    await coordinator.getByRole('button', { name: 'Save' }).click();
    await coordinator.locator('.ok-box').getByText('Saved Visit at RETRIEVAL').waitFor();
  } finally {
    await screenshot(manager, 'database-lock');
  }
});
