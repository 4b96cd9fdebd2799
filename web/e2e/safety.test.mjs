// Issue 16: a serious adverse event entered on the site's AE log is a safety
// case the moment it is saved. The coordinator is told so in plain words;
// the safety physician finds it at the top of the Safety page with its
// reporting clocks (15 days for a hospitalisation, to the FDA and the EU,
// from today); the pages pass WCAG 2.1 AA; other sites' staff do not see it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { endSuite, expectAccessible, launchBrowser, screenshot, Server, studyUrl, userPage } from './harness.mjs';

let server;
let browser;
const pages = [];
const TERM = 'SYNCOPE AT HOME';
const TODAY = new Date().toISOString().slice(0, 10);
let CASE = '';

before(async () => {
  server = await Server.start(['--login-rate', '1000']);
  browser = await launchBrowser();
});

after(async () => {
  await endSuite(pages, browser, server);
});

async function as(user) {
  const page = await userPage(browser, server, user);
  pages.push(page);
  return page;
}

test('the coordinator records a serious adverse event and is told its safety case is open', async () => {
  const page = await as('coord.701');
  try {
    await page.goto(studyUrl('/subjects/701-1001/visits/LOGS/forms/AE'));
    await page.getByRole('button', { name: 'Add a row' }).click();
    await page.getByLabel('Adverse event, row new').fill(TERM);
    await page.getByLabel('Start date, row new').fill(TODAY);
    await page.getByLabel('Ongoing, row new').selectOption('true');
    await page.getByLabel('Severity, row new').selectOption('SEVERE');
    await page.getByLabel('Serious, row new').selectOption('Y');
    // The seriousness criteria are asked once the event is serious.
    await page.getByLabel('Required or prolonged hospitalization, row new').selectOption('true');
    await page.getByLabel('Relationship to study drug, row new').selectOption('POSSIBLE');
    await page.getByLabel('Action taken with study drug, row new').selectOption('DRUG INTERRUPTED');
    await page.getByLabel('Outcome, row new').selectOption('RECOVERING/RESOLVING');
    await page.getByRole('button', { name: 'Save' }).click();
    const told = page.locator('.ok-box').getByText(/is a serious adverse event: safety case 701-1001-SAE\d+ is opened/);
    await told.waitFor();
    CASE = (await told.innerText()).match(/701-1001-SAE\d+/)[0];
  } finally {
    await screenshot(page, 'safety-sae-saved');
  }
});

test('the safety physician finds the case with its clocks, most urgent first', async () => {
  assert.ok(CASE, 'the case of the first test');
  const page = await as('safety.1');
  try {
    await page.goto(studyUrl());
    await page.locator('header nav').getByRole('link', { name: 'Safety' }).click();
    const row = page.locator(`table.safety-cases tr[data-case="${CASE}"]`);
    await row.waitFor();
    const text = await row.innerText();
    assert.match(text, new RegExp(TERM));
    assert.match(text, /hospitalisation/);
    assert.match(text, new RegExp(`FDA: \\d{4}-\\d{2}-\\d{2} \\(15 days\\)`));
    assert.match(text, new RegExp(`EU: \\d{4}-\\d{2}-\\d{2} \\(15 days\\)`));
    assert.match(text, /in 1[45] days/);
    assert.match(text, /assessment pending/);
    assert.match(await page.getByTestId('safety-counts').innerText(), /\d+ open · \d+ due within 3 days · \d+ overdue/);
    await expectAccessible(page, 'the safety inbox');
    // The event links to the AE log it came from.
    await row.getByRole('link', { name: TERM }).click();
    await page.waitForURL(/\/subjects\/701-1001\/visits\/LOGS\/forms\/AE/);
  } finally {
    await screenshot(page, 'safety-inbox');
  }
});

test('site staff have no Safety page, and another site sees none of this case', async () => {
  const coordinator = await as('coord.701');
  await coordinator.goto(studyUrl());
  await coordinator.locator('header nav').getByRole('link', { name: 'Queries' }).waitFor();
  assert.equal(await coordinator.locator('header nav').getByRole('link', { name: 'Safety' }).count(), 0);
  const pharmacist = await as('pharm.708');
  const reply = await pharmacist.request.get(`/api/v1/studies/CDISCPILOT01/safety/cases/${CASE}`);
  assert.equal(reply.status(), 404);
});
