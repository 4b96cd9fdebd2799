// Issue 15's "Done when": one working day on the demo's study, as the people
// of a study spend it, through the pages alone. The coordinator screens a
// subject, enters the visit date and then vital signs with values out of
// range, and edit checks raise queries (the system's, in plain words); the
// coordinator answers one; the monitor verifies the form from the plan's
// worklist (the item whose query awaits the site is left out and named)
// and closes the answered query; the investigator signs a casebook awaiting
// signature after reading its summary; the data manager closes what is
// still open, accepts the rest of the lock's checklist with reasons and
// signs the lock; then every page is read only and says why. Each page on
// the way is checked for WCAG 2.1 AA and for a phone's width. The tests run
// in order on one server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  closeListedQueries, endSuite, expectAccessible, expectFitsWidth, launchBrowser, PASSWORD, screenshot, Server, studyUrl,
  userPage,
} from './harness.mjs';

let server;
let browser;
const pages = [];
const users = {};
// The server numbers the subject when it is screened; the checks number the queries.
let SUBJECT = '';
let SYSBP_QUERY = 0;
let PULSE_QUERY = 0;
// The visit happens today (UTC, as the server's clock), shown as dd-MMM-yyyy.
const TODAY = new Date().toISOString().slice(0, 10);
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const TODAY_SHOWN = `${TODAY.slice(8, 10)}-${MONTHS[Number(TODAY.slice(5, 7)) - 1]}-${TODAY.slice(0, 4)}`;
// Item, group and check codes, visit codes and formulas: developer text site staff must not meet.
const CODES = /\bSYSBP\b|\bDIABP\b|\bVSPOS\b|\bPULSE\b|soft_range|\bSCREENING1\b|\/VS\b|round\(|derived:/;
const DATE_SHOWN = /\b\d{2}-[A-Z]{3}-\d{4}\b/;

// One browser context per user, for the whole day.
async function as(user) {
  if (!users[user]) {
    users[user] = await userPage(browser, server, user);
    pages.push(users[user]);
  }
  return users[user];
}

// The page as it is now has no WCAG 2.1 AA violation, and fits a phone's
// width (375 px) with a two-line header.
async function check(page, what) {
  await page.locator('main').getByText('Loading…').waitFor({ state: 'detached' });
  await expectAccessible(page, what);
  const size = page.viewportSize();
  await page.setViewportSize({ width: 375, height: 800 });
  // Charts follow the new width a frame or two later (a ResizeObserver): the check waits for them.
  await page.waitForFunction(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth,
    null, { timeout: 3000 }).catch(() => {});
  await expectFitsWidth(page, what);
  await page.setViewportSize(size);
}

async function openForm(page, visit, form) {
  await page.goto(studyUrl(`/subjects/${SUBJECT}`));
  await page.locator(`a[data-cell="${visit}/${form}"]`).click();
  await page.locator('form[aria-label]').waitFor();
}

before(async () => {
  server = await Server.start(['--login-rate', '1000']);
  browser = await launchBrowser();
});

after(() => endSuite(pages, browser, server));

test('08:30 the coordinator screens a subject, enters the visit date, then vital signs; the edit checks raise queries in plain words, and one is answered', async () => {
  const page = await as('coord.701');
  try {
    await page.locator('header nav').getByRole('link', { name: 'Subjects' }).click();
    await page.locator('#screen-title + form select[name=site]').selectOption('701');
    await check(page, 'the subject list');
    await page.getByRole('button', { name: 'Screen', exact: true }).click();
    const heading = page.getByRole('heading', { name: /^Subject 701-\d{4}$/ });
    await heading.waitFor();
    SUBJECT = (await heading.innerText()).replace('Subject ', '');
    await check(page, 'a new casebook');

    // The visit date first, then the visit's other forms.
    await page.locator('a[data-cell="SCREENING1/SV"]').click();
    await page.locator('#item-SVSTDTC').fill(TODAY);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('.ok-box').getByText('Saved Visit at SCREENING 1').waitFor();
    await page.goto(studyUrl(`/subjects/${SUBJECT}`));
    const screening = page.locator('table.grid tbody tr').first();
    assert.match(await screening.innerText(), new RegExp(TODAY_SHOWN), 'the visit date shows as dd-MMM-yyyy');

    await openForm(page, 'SCREENING1', 'VS');
    await page.locator('#item-VSPOS').selectOption('SITTING');
    await page.locator('#item-SYSBP').fill('175');
    await page.locator('#item-DIABP').fill('80');
    await page.locator('#item-PULSE').fill('115');
    // The checks answer while typing, in the study's words.
    await page.locator('[data-item=SYSBP] .item-messages').getByText('is outside the expected 90 to 160').waitFor();
    await page.getByRole('button', { name: 'Save' }).click();
    const saved = page.locator('.ok-box');
    await saved.getByText(/Query \d+ opened on Systolic blood pressure/).waitFor();
    assert.match(await saved.innerText(), new RegExp(`^Saved Vital signs at SCREENING 1 for subject ${SUBJECT}\\.`));
    assert.doesNotMatch(await page.locator('main').innerText(), CODES, 'labels and sentences, no codes');
    const chip = (item) => page.locator(`[data-item=${item}] button.query-chip`);
    SYSBP_QUERY = Number(/Query (\d+)/.exec(await chip('SYSBP').innerText())[1]);
    PULSE_QUERY = Number(/Query (\d+)/.exec(await chip('PULSE').innerText())[1]);

    // The system raised them, after the coordinator's save: not the coordinator.
    await chip('SYSBP').click();
    const opening = page.locator('.thread li').first();
    await opening.getByText('automatic edit check').waitFor();
    await opening.getByRole('link', { name: 'a save by coord.701' }).waitFor();
    assert.doesNotMatch(await opening.innerText(), /coord\.701 \(Coordinator\) · opened/);
    await page.getByLabel(`Message for query ${SYSBP_QUERY}`).fill('Confirmed against the source: the patient was anxious.');
    await page.getByRole('button', { name: 'Answer' }).click();
    await page.getByRole('button', { name: `Query ${SYSBP_QUERY}: answered` }).waitFor();
    // The warnings show their queries' states: one answered, one still open.
    await page.locator('[data-item=SYSBP] p.settled[data-query-state=answered]').waitFor();
    await page.locator('#problem-summary').getByText(`query ${PULSE_QUERY}: open`).waitFor();
    await check(page, 'the vital signs form with its queries');

    // The casebook and the audit trail name the check as who raised them, without its code.
    await page.goto(studyUrl(`/subjects/${SUBJECT}`));
    const raised = page.locator('section[aria-labelledby=q-title] tbody tr').first();
    assert.match(await raised.innerText(), /automatic edit check/);
    await page.getByRole('link', { name: 'Audit trail' }).click();
    await page.getByText('automatic edit check, after a save by coord.701').first().waitFor();
    assert.doesNotMatch(await page.locator('main').innerText(), CODES);
    assert.match(await page.locator('main table').innerText(), DATE_SHOWN);
    await check(page, 'the audit trail');
  } finally {
    await screenshot(page, 'day-coordinator');
  }
});

test('11:00 the monitor verifies the form from the plan\'s worklist, the item whose query awaits the site left out and named, and closes the answered query', async () => {
  const monitor = await as('cra.1');
  const coordinator = await as('coord.701');
  try {
    await monitor.locator('header nav').getByRole('link', { name: 'Verification' }).click();
    await monitor.locator('select[name=site]').selectOption('701');
    await monitor.waitForURL(/\/sdv\?site=701$/);
    await monitor.locator('input[name=subject]').fill(SUBJECT);
    await monitor.locator('input[name=subject]').press('Enter');
    const work = monitor.locator('table.sdv-work tbody tr', { hasText: SUBJECT }).filter({ hasText: 'Vital signs' });
    await work.waitFor();
    assert.match(await work.innerText(), /0 of 4\s+1 \(wait for the site\)/);
    await check(monitor, 'the verification worklist');
    await work.getByRole('link', { name: /Vital signs/ }).click();
    await monitor.locator('[data-item=PULSE]').waitFor();

    await monitor.getByRole('button', { name: 'Verify whole form' }).click();
    const confirm = monitor.getByRole('dialog');
    await confirm.getByText(`Not verified, their query awaits the site: Pulse rate (query ${PULSE_QUERY})`).waitFor();
    await check(monitor, 'the verification dialog');
    await confirm.getByRole('button', { name: 'Verify 3 items' }).click();
    await monitor.locator('.ok-box').getByText(`Not verified, their query awaits the site: Pulse rate (query ${PULSE_QUERY}).`).waitFor();
    await monitor.locator('[data-item=SYSBP] .badge.verified').waitFor();
    assert.equal(await monitor.locator('[data-item=PULSE] .badge.verified').count(), 0, 'the pulse waits for its query');

    await monitor.getByRole('button', { name: `Query ${SYSBP_QUERY}: answered` }).click();
    await monitor.locator('.thread').getByText('the patient was anxious').waitFor();
    await monitor.getByLabel(`Message for query ${SYSBP_QUERY}`).fill('Accepted.');
    await monitor.getByRole('button', { name: 'Close query' }).click();
    await monitor.getByRole('button', { name: `Query ${SYSBP_QUERY}: closed` }).waitFor();

    // The site sees the warning settled: its query is closed.
    await openForm(coordinator, 'SCREENING1', 'VS');
    const settled = coordinator.locator('[data-item=SYSBP] p.settled[data-query-state=closed]');
    await settled.waitFor();
    assert.match(await settled.innerText(), new RegExp(`Query ${SYSBP_QUERY}: closed`));
    assert.equal(await coordinator.locator('[data-item=SYSBP] p.warning').count(), 0, 'no longer a warning to confirm');
    await coordinator.locator('[data-item=PULSE] p.warning').getByText(`(query ${PULSE_QUERY}: open)`).waitFor();
  } finally {
    await screenshot(monitor, 'day-monitor');
  }
});

test('14:00 the investigator opens what awaits signature, reads the signing summary and signs with the password', async () => {
  const page = await as('inv.701');
  try {
    await page.goto(studyUrl(''));
    const awaiting = page.locator('section[aria-labelledby=awaiting-title]');
    const row = awaiting.locator('tbody tr', { hasText: 'Casebook to sign' }).first();
    await row.waitFor();
    const subject = await row.getAttribute('data-awaiting');
    await check(page, 'the investigator\'s home');
    await row.getByRole('link', { name: subject }).click();
    await page.getByRole('button', { name: 'Sign casebook…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.locator('section.signing-summary').getByText('Before you sign').waitFor();
    await check(page, 'the signing dialog');
    await dialog.getByLabel('Meaning of this signature').selectOption('approval');
    await dialog.getByLabel('Password').fill(PASSWORD);
    await dialog.getByRole('button', { name: 'Sign' }).click();
    // The manifestation: the account's printed name, the UTC time as dd-MMM-yyyy, the meaning.
    const signature = page.locator('li.signature', { hasText: 'Dr. Ivy Investigator (inv.701) signed the whole casebook' });
    await signature.getByText('Valid').waitFor();
    assert.match(await signature.innerText(), /on \d{2}-[A-Z]{3}-\d{4} \d{2}:\d{2}:\d{2} UTC; meaning: approval/);
    await page.goto(studyUrl(''));
    await awaiting.waitFor();
    assert.equal(await awaiting.locator(`tr[data-awaiting="${subject}"]`, { hasText: 'Casebook to sign' }).count(), 0,
      'signed: it awaits no more');
  } finally {
    await screenshot(page, 'day-investigator');
  }
});

test('17:00 the data manager resolves the open queries, accepts the rest of the checklist with reasons and signs the lock; every page turns read only and says why', async () => {
  const manager = await as('dm.1');
  const coordinator = await as('coord.701');
  const monitor = await as('cra.1');
  const investigator = await as('inv.701');
  try {
    await manager.goto(studyUrl(''));
    await manager.getByRole('link', { name: 'Database lock checklist' }).click();
    const item = (id) => manager.locator(`[data-check=${id}]`);
    await item('unresolved_queries').getByText('These cannot be accepted').waitFor();
    await check(manager, 'the lock checklist');
    // The queries still open, this morning's pulse among them, are closed at the review.
    await item('unresolved_queries').getByRole('link', { name: 'close them' }).click();
    await closeListedQueries(manager, 'Resolved at the database review.');

    await manager.goto(studyUrl('/lock'));
    await item('unresolved_queries').locator('.badge', { hasText: 'resolved' }).waitFor();
    const outstanding = manager.locator('li.check-item.outstanding');
    assert.ok((await outstanding.count()) > 0, 'the demo leaves items to accept');
    for (const entry of await outstanding.all()) {
      await entry.getByLabel('Accept for the lock').check();
      await entry.getByLabel('Why is it acceptable?').fill('interim lock for the safety review');
    }
    // The coordinator has the new subject's casebook open, with its actions, as the lock is signed.
    await coordinator.goto(studyUrl(`/subjects/${SUBJECT}`));
    await coordinator.getByRole('button', { name: 'Enrol' }).waitFor();
    await manager.getByRole('button', { name: 'Lock the database…' }).click();
    const dialog = manager.getByRole('dialog');
    await dialog.getByText('You accept:').waitFor();
    await dialog.getByLabel('Password').fill(PASSWORD);
    await dialog.getByRole('button', { name: 'Sign and lock' }).click();
    await manager.locator('.ok-box').getByText('The database is locked.').waitFor();
    await check(manager, 'the lock page, locked');

    // The open page turns read only as the lock happens: the reason shows, the actions go.
    const reason = (page) => page.locator('[data-read-only=database_locked]');
    await reason(coordinator).getByText('The database is locked').waitFor();
    await coordinator.getByRole('button', { name: 'Enrol' }).waitFor({ state: 'detached' });

    // Every page of every user: the reason, once, and nothing the server would refuse.
    const noActions = async (page, what, names, { checked = true } = {}) => {
      await page.locator('main h1').first().waitFor();
      await page.locator('main').getByText('Loading…').waitFor({ state: 'detached' });
      await reason(page).getByText('nothing can be changed until a data manager unlocks it').waitFor();
      assert.equal(await page.locator('[data-read-only]').count(), 1, `${what}: the reason is said once`);
      for (const name of names) {
        assert.equal(await page.getByRole('button', { name, exact: true }).count(), 0, `${what}: no ${name}`);
      }
      if (checked) await check(page, what + ', locked');
    };
    await coordinator.goto(studyUrl('/subjects'));
    await coordinator.locator('main table').waitFor();
    await noActions(coordinator, 'the subject list', ['Screen']);
    await coordinator.goto(studyUrl(`/subjects/${SUBJECT}`));
    await coordinator.locator('table.grid').waitFor();
    await noActions(coordinator, 'the casebook', ['Enrol', 'Screen failure', 'Inactivate…', 'Start']);
    assert.equal(await coordinator.locator('main .toolbar button, main table.grid button').count(), 0,
      'the casebook offers only its audit trail');
    await openForm(coordinator, 'SCREENING1', 'VS');
    await noActions(coordinator, 'the form', ['Save', 'Answer', 'Not done…']);
    assert.ok(await coordinator.locator('#item-SYSBP').isDisabled(), 'the values cannot be typed over');
    await openForm(monitor, 'SCREENING1', 'VS');
    await noActions(monitor, 'the monitor\'s form', ['Verify whole form', 'Verify', 'Close query', 'Re-open'], { checked: false });
    assert.equal(await monitor.getByRole('button', { name: /^Raise query on/ }).count(), 0, 'no query can be raised');
    await investigator.goto(studyUrl(`/subjects/${SUBJECT}`));
    await investigator.locator('table.grid').waitFor();
    await noActions(investigator, 'the investigator\'s casebook', ['Sign casebook…'], { checked: false });
    await manager.goto(studyUrl(`/subjects/${SUBJECT}`));
    await manager.locator('table.grid').waitFor();
    await noActions(manager, 'the data manager\'s casebook', ['Freeze', 'Lock', 'Inactivate…'], { checked: false });
  } finally {
    await screenshot(manager, 'day-data-manager');
    await screenshot(coordinator, 'day-locked');
  }
});
