// Issue 15, as site staff and data managers meet it: a query an edit check
// raises is the system's, saves are told in the study's words (codes and
// formulas only for data managers who ask for them), a warning whose query
// is closed shows "closed", and each query tile of the study home counts the
// rows its inbox then lists. The tests run in order on one server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { endSuite, launchBrowser, screenshot, Server, studyUrl, userPage } from './harness.mjs';

const FORM = studyUrl('/subjects/701-1001/visits/RASHFU/forms/VS');
let server;
let browser;
const pages = [];
let number = 0; // of the query the first test's save opens

async function as(user) {
  const page = await userPage(browser, server, user);
  pages.push(page);
  return page;
}

before(async () => {
  server = await Server.start(['--login-rate', '1000']);
  browser = await launchBrowser();
});

after(() => endSuite(pages, browser, server));

// Item ids, group ids, check ids, visit/form codes and formulas a page could leak.
const CODES = /\bSYSBP\b|\bDIABP\b|\bVSPOS\b|\bBMI\b|soft_range|RASHFU|\/VS\b|round\(|derived:/;

test('a coordinator sees labels and sentences, never item codes, formulas or ids, also when a save opens a query', async () => {
  const page = await as('coord.701');
  try {
    // The study takes a visit's date before its other forms.
    await page.goto(studyUrl('/subjects/701-1001/visits/RASHFU/forms/SV'));
    await page.locator('#item-SVSTDTC').fill('2026-05-20');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('.ok-box').getByText('Saved Visit at Rash followup').waitFor();
    await page.goto(FORM);
    await page.locator('#item-SYSBP').waitFor();
    assert.equal(await page.locator('.item-id').count(), 0, 'no item codes under the items');
    assert.equal(await page.getByLabel('Show codes').count(), 0, 'no switch to show codes for site staff');
    await page.locator('#item-VSPOS').selectOption('SITTING');
    await page.locator('#item-SYSBP').fill('175');
    await page.locator('#item-DIABP').fill('80');
    await page.locator('#item-PULSE').fill('72');
    await page.locator('#problem-summary').getByText('Systolic blood pressure').waitFor();
    assert.doesNotMatch(await page.locator('#problem-summary').innerText(), CODES);
    await page.getByRole('button', { name: 'Save' }).click();
    const saved = page.locator('.ok-box');
    await saved.getByText(/Query \d+ opened on Systolic blood pressure/).waitFor();
    const text = await saved.innerText();
    number = Number(/Query (\d+) opened/.exec(text)[1]);
    assert.match(text, /^Saved Vital signs at Rash followup for subject 701-1001\./);
    assert.doesNotMatch(text, CODES);
    assert.doesNotMatch(await page.locator('main').innerText(), CODES);
    // The query is the edit check's, not the coordinator's own.
    await page.getByRole('button', { name: `Query ${number}: open` }).click();
    const opening = page.locator('.thread li').first();
    await opening.getByText('automatic edit check').waitFor();
    await opening.getByRole('link', { name: 'a save by coord.701' }).waitFor();
  } finally {
    await screenshot(page, 'coordinator-plain-text');
  }
});

test('a data manager shows codes and formulas on demand, and the choice is remembered', async () => {
  const page = await as('dm.1');
  try {
    await page.goto(FORM);
    await page.locator('#item-SYSBP').waitFor();
    assert.equal(await page.locator('.item-id').count(), 0, 'codes are off until asked for');
    await page.getByLabel('Show codes').check();
    await page.locator('[data-item=SYSBP] .item-id').getByText('SYSBP').waitFor();
    await page.locator('[data-item=BMI]').getByText('derived: round(').waitFor();
    await page.reload();
    await page.locator('[data-item=SYSBP] .item-id').waitFor();
    assert.ok(await page.getByLabel('Show codes').isChecked(), 'remembered for this user in this browser');
    await page.getByRole('button', { name: `Query ${number}: open` }).click();
    await page.locator('.thread li').first().getByText('edit check SYSBP.soft_range').waitFor();
    // The audit trail names the check as who opened the query.
    await page.goto(studyUrl('/subjects/701-1001/audit?path=' + encodeURIComponent(`subject/701-1001/queries/${number}`)));
    await page.getByText('edit check SYSBP.soft_range, after a save by coord.701').waitFor();
    await page.goto(FORM);
    await page.getByLabel('Show codes').uncheck();
    await page.locator('[data-item=SYSBP] .item-id').waitFor({ state: 'detached' });
  } finally {
    await screenshot(page, 'data-manager-codes');
  }
});

test('a warning whose query the site answered and the monitor closed shows "closed", not a problem to confirm', async () => {
  const coordinator = await as('coord.701');
  const monitor = await as('cra.1');
  try {
    await coordinator.goto(FORM);
    await coordinator.getByRole('button', { name: `Query ${number}: open` }).click();
    // Still open: the warning stands, with its query's state.
    await coordinator.locator('#problem-summary').getByText(`query ${number}: open`).waitFor();
    await coordinator.getByLabel(`Message for query ${number}`).fill('Confirmed against the source.');
    await coordinator.getByRole('button', { name: 'Answer' }).click();
    await coordinator.getByRole('button', { name: `Query ${number}: answered` }).waitFor();
    await coordinator.locator('[data-item=SYSBP] p.settled[data-query-state=answered]').waitFor();

    await monitor.goto(FORM);
    await monitor.getByRole('button', { name: `Query ${number}: answered` }).click();
    await monitor.getByRole('button', { name: 'Close query' }).click();
    await monitor.getByRole('button', { name: `Query ${number}: closed` }).waitFor();

    await coordinator.goto(FORM);
    const settled = coordinator.locator('[data-item=SYSBP] p.settled[data-query-state=closed]');
    await settled.waitFor();
    assert.match(await settled.innerText(), new RegExp(`Query ${number}: closed`));
    assert.equal(await coordinator.locator('[data-item=SYSBP] p.warning').count(), 0, 'no longer a warning');
    const summary = coordinator.locator('#problem-summary');
    if (await summary.count()) assert.doesNotMatch(await summary.innerText(), /Systolic blood pressure/);
  } finally {
    await screenshot(coordinator, 'warning-closed');
  }
});

test('each query tile of the study home counts the rows its inbox lists', async () => {
  const monitor = await as('cra.1');
  const coordinator = await as('coord.701');
  const manager = await as('dm.1');
  try {
    // One query the monitor raises and the site answers: it awaits the monitor, no longer the site.
    await monitor.goto(FORM);
    await monitor.getByRole('button', { name: 'Raise query on Pulse rate' }).click();
    await monitor.getByLabel('Question for the site about Pulse rate').fill('Please confirm the pulse against the source.');
    await monitor.getByRole('button', { name: 'Raise query', exact: true }).click();
    const chip = monitor.locator('[data-item=PULSE] button.query-chip');
    await chip.waitFor();
    const raised = Number(/Query (\d+)/.exec(await chip.innerText())[1]);
    await coordinator.goto(FORM);
    await coordinator.getByRole('button', { name: `Query ${raised}: open` }).click();
    await coordinator.getByLabel(`Message for query ${raised}`).fill('Confirmed.');
    await coordinator.getByRole('button', { name: 'Answer' }).click();
    await coordinator.getByRole('button', { name: `Query ${raised}: answered` }).waitFor();
    // The casebook's cell counts it as answered, not as open.
    await coordinator.goto(studyUrl('/subjects/701-1001'));
    assert.match(await coordinator.locator('a[data-cell="RASHFU/VS"]').getAttribute('aria-label'), /1 answered query/);
    assert.doesNotMatch(await coordinator.locator('a[data-cell="RASHFU/VS"]').getAttribute('aria-label'), /open quer/);

    for (const state of ['open', 'answered']) {
      await manager.goto(studyUrl(''));
      const tile = manager.locator(`a.tile[data-queries=${state}]`);
      const figure = Number(await tile.locator('.figure').innerText());
      await tile.click();
      await manager.waitForURL(new RegExp(`/queries\\?state=${state}$`));
      await manager.locator('table.data caption').waitFor();
      const rows = manager.locator('table.data tbody tr');
      assert.ok(figure > 0, `${state}: the demo study and this test leave some`);
      assert.equal(await rows.count(), figure, `${state}: the tile's figure is the inbox's rows`);
      assert.equal(await manager.getByLabel('State').inputValue(), state);
      for (const cell of await manager.locator('table.data tbody td .badge').all()) assert.equal(await cell.innerText(), state);
    }
  } finally {
    await screenshot(manager, 'tiles-and-inbox');
    await screenshot(coordinator, 'answered-in-casebook');
  }
});
