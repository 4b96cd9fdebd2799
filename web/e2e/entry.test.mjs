// Form entry beyond single values: repeating groups (a row added with a
// multiple choice, then removed with a reason), "not done" with a reason,
// visibility conditions, and a stale page (412) keeping what was typed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Server, giveReason, launchBrowser, screenshot, studyUrl, userPage } from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await Server.start(['--login-rate', '1000'], { shiftedClock: true });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('a concomitant medication row is added with several routes, saved, and removed with a reason', async () => {
  const page = await userPage(browser, server, 'coord.701');
  try {
    await page.goto(studyUrl('/subjects/701-1001/visits/LOGS/forms/CM'));
    // The rows are counted once the form is drawn (with the rows the subject has).
    await page.getByRole('button', { name: 'Add a row' }).waitFor();
    const before = await page.locator('table.rows tbody tr').count();
    await page.getByRole('button', { name: 'Add a row' }).click();
    await page.getByLabel('Medication, row new').fill('Paracetamol');
    const routes = page.locator('fieldset.choices').last();
    await routes.getByLabel('ORAL', { exact: true }).check();
    await routes.getByLabel('TOPICAL', { exact: true }).check();
    await page.getByLabel('Ongoing, row new').selectOption('true');
    // Checks answer on the new row itself: no end date is asked of an
    // ongoing medication, and the indication is asked for.
    const fresh = page.locator('table.rows tbody tr').last();
    await fresh.locator('td.not-asked').waitFor();
    await fresh.getByText('Give the indication.').waitFor();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('.ok-box').getByText('Saved Concomitant medications at Subject logs').waitFor();
    const rows = page.locator('table.rows tbody tr');
    assert.equal(await rows.count(), before + 1);
    const added = rows.last();
    const number = (await added.locator('th').innerText()).trim();
    assert.match(number, /^\d+$/, 'the saved row has its number');
    assert.ok(await added.locator('fieldset.choices').getByLabel('ORAL', { exact: true }).isChecked());
    assert.ok(await added.locator('fieldset.choices').getByLabel('TOPICAL', { exact: true }).isChecked());
    assert.ok(!(await added.locator('fieldset.choices').getByLabel('INHALATION', { exact: true }).isChecked()));

    await added.getByRole('button', { name: 'Remove…' }).click();
    await giveReason(page, 'entered on the wrong subject');
    await page.locator('.ok-box').getByText(`Row ${number} removed`).waitFor();
    assert.equal(await page.locator('table.rows tbody tr').count(), before);
  } finally {
    await screenshot(page, 'repeating-group');
  }
});

test('an item is marked not done with its reason, and a hidden item appears only when its condition holds', async () => {
  const page = await userPage(browser, server, 'coord.701');
  try {
    await page.goto(studyUrl('/subjects/701-1001/visits/RASHFU/forms/VS'));
    // The study takes the visit date first: the page says so and leads there.
    await page.locator('#visit-date-first').getByRole('link', { name: 'Enter the visit date (Visit)' }).click();
    await page.locator('#item-SVSTDTC').fill('2026-05-20');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('.ok-box').getByText('Saved Visit at Rash followup').waitFor();
    await page.goto(studyUrl('/subjects/701-1001/visits/RASHFU/forms/VS'));
    await page.locator('#item-SYSBP').waitFor();
    await page.locator('[data-item=HEIGHT]').getByRole('button', { name: 'Not done…' }).click();
    await giveReason(page, 'stadiometer broken');
    await page.locator('#item-VSPOS').selectOption('STANDING');
    await page.locator('#item-SYSBP').fill('130');
    await page.locator('#item-DIABP').fill('85');
    await page.locator('#item-PULSE').fill('70');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('.ok-box').getByText('Saved Vital signs at Rash followup').waitFor();
    await page.reload();
    await page.locator('[data-item=HEIGHT]').getByText('Not done: stadiometer broken').waitFor();
  } finally {
    await screenshot(page, 'not-done');
  }
  // The pharmacist's exposure form asks why the dose was adjusted only when it is 0.
  const pharmacist = await userPage(browser, server, 'pharm.701');
  try {
    await pharmacist.goto(studyUrl('/subjects/701-1001/visits/WEEK20/forms/EX'));
    // The demo's investigator has signed this visit: the form is read only
    // until the change, which breaks the signature, is confirmed.
    await pharmacist.getByRole('button', { name: 'Change data…' }).click();
    await pharmacist.locator('dialog').getByRole('button', { name: 'Change data', exact: true }).click();
    await pharmacist.locator('#item-EXDOSE').fill('54');
    await pharmacist.locator('#item-EXADJ').waitFor({ state: 'detached' });
    await pharmacist.locator('#item-EXDOSE').fill('0');
    await pharmacist.locator('#item-EXADJ').waitFor();
  } finally {
    await screenshot(pharmacist, 'visibility');
  }
});

test('a save on a stale page is refused, keeps what was typed, and goes through once reviewed', async () => {
  const first = await userPage(browser, server, 'coord.701');
  const second = await userPage(browser, server, 'inv.701');
  try {
    // No live updates on the first page, so that it stays stale.
    await first.route('**/events', (route) => route.abort());
    await first.goto(studyUrl('/subjects/701-1001/visits/RETRIEVAL/forms/SV'));
    await second.goto(studyUrl('/subjects/701-1001/visits/RASHFU%232/forms/SV'));
    await first.locator('#item-SVSTDTC').fill('2026-06-01');
    // Meanwhile someone else saves on the same subject.
    await second.locator('#item-SVSTDTC').fill('2026-06-02');
    await second.getByRole('button', { name: 'Save' }).click();
    await second.locator('.ok-box').waitFor();
    await first.getByRole('button', { name: 'Save' }).click();
    await first.locator('.error-box').getByText('Someone else changed this subject').waitFor();
    assert.equal(await first.locator('#item-SVSTDTC').inputValue(), '01-JUN-2026');
    await first.getByRole('button', { name: 'Save' }).click();
    await first.locator('.ok-box').getByText('Saved Visit at RETRIEVAL').waitFor();
  } finally {
    await screenshot(first, 'stale-page');
  }
});

test('an unscheduled visit happens again: its second occurrence opens and saves', async () => {
  const page = await userPage(browser, server, 'coord.701');
  try {
    await page.goto(studyUrl('/subjects/701-1001/visits/AEFU/forms/SV'));
    await page.locator('#item-SVSTDTC').fill('2026-04-01');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('.ok-box').getByText('Saved Visit at AE FOLLOW-UP for').waitFor();
    await page.goto(studyUrl('/subjects/701-1001'));
    const start = page.getByRole('form', { name: 'Unscheduled visit' });
    await start.getByLabel('Unscheduled visit').selectOption('AEFU');
    await start.getByRole('button', { name: 'Start' }).click();
    await page.getByRole('heading', { name: /AE FOLLOW-UP #2/ }).waitFor();
    await page.locator('#item-SVSTDTC').fill('2026-04-15');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('.ok-box').getByText('Saved Visit at AE FOLLOW-UP #2').waitFor();
    // The casebook now shows both occurrences.
    await page.goto(studyUrl('/subjects/701-1001'));
    await page.locator('a[data-cell="AEFU#2/SV"]').waitFor();
  } finally {
    await screenshot(page, 'unscheduled-again');
  }
});

test('a query on an item of a repeating row shows on that row, is answered there, and closes when the row goes', async () => {
  const page = await userPage(browser, server, 'coord.701');
  try {
    await page.goto(studyUrl('/subjects/701-1001/visits/LOGS/forms/CM'));
    await page.getByRole('button', { name: 'Add a row' }).click();
    await page.getByLabel('Medication, row new').fill('Ibuprofen');
    await page.getByLabel('Ongoing, row new').selectOption('false');
    // No indication: the study's soft check asks for one.
    await page.locator('table.rows').getByText('Give the indication.').waitFor();
    await page.getByRole('button', { name: 'Save' }).click();
    const opened = await page.locator('.ok-box').getByText(/Query \d+ opened/).innerText();
    const number = /Query (\d+) opened/.exec(opened)[1];
    const row = page.locator('table.rows tbody tr', { hasText: `Query ${number}` });
    await row.getByRole('button', { name: `Query ${number}: open` }).click();
    await page.getByLabel(`Message for query ${number}`).fill('Taken for back pain; the indication is now on the source.');
    await page.getByRole('button', { name: 'Answer' }).click();
    await row.getByRole('button', { name: `Query ${number}: answered` }).waitFor();

    await row.getByRole('button', { name: 'Remove…' }).click();
    await giveReason(page, 'duplicate of another row');
    await page.locator('.ok-box').getByText(`query ${number} closed: its row was removed`).waitFor();
  } finally {
    await screenshot(page, 'row-query');
  }
});

test('a visit that did not take place is recorded as missed, with its reason', async () => {
  // Four months pass: the enrolled subject's next visits fall due.
  server.shiftClock(120 * 24 * 3600);
  await new Promise((r) => setTimeout(r, 300));
  const page = await userPage(browser, server, 'coord.701');
  try {
    await page.goto(studyUrl('/subjects?site=701&status=enrolled'));
    await page.locator('tbody tr a').first().click();
    const miss = page.getByRole('button', { name: /^Record .* as missed$/ }).first();
    const label = await miss.getAttribute('aria-label');
    const visit = /^Record (.*) as missed$/.exec(label)[1];
    await miss.click();
    await giveReason(page, 'the patient was in hospital');
    await page.locator('.ok-box').getByText(`${visit} recorded as missed`).waitFor();
    await page.locator('tr', { has: page.locator('th', { hasText: visit }) }).locator('.badge', { hasText: 'missed' }).waitFor();
  } finally {
    server.shiftClock(0);
    await screenshot(page, 'visit-missed');
  }
});
