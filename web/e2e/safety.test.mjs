// Issue 16: a serious adverse event entered on the site's AE log is a safety
// case the moment it is saved. The coordinator is told so in plain words;
// the safety physician finds it at the top of the Safety page with its
// reporting clocks (15 days for a hospitalisation, to the FDA and the EU,
// from today); the pages pass WCAG 2.1 AA; other sites' staff do not see it.
// The safety physician then works the case from triage to complete: coding,
// medical review, approval, E2B(R3) submission to the FDA and the EU, and the
// receivers' acknowledgements. Reports from outside the CRF: a spontaneous
// report entered and its new information, and an E2B(R3) file imported.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { endSuite, expectAccessible, expectFitsWidth, giveReason, launchBrowser, screenshot, Server, SmtpSink, studyUrl, userPage } from './harness.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// FDA's example of a positive acknowledgement (ICH E2B(R3) MCCI_IN200101UV01).
const ACK_EXAMPLE = path.join(repoRoot, '../shared/data/e2b/examples/R3ack-positive.ack');

let server;
let browser;
let mail;
const pages = [];
const TERM = 'SYNCOPE AT HOME';
const TODAY = new Date().toISOString().slice(0, 10);
let CASE = '';

before(async () => {
  // The server tells the study's unblinded contacts of an unblinding by e-mail.
  mail = await SmtpSink.start();
  server = await Server.start(['--login-rate', '1000', '--smtp', mail.url, '--mail-from', 'trialcore@example.org']);
  browser = await launchBrowser();
});

after(async () => {
  await endSuite(pages, browser, server);
  await mail?.stop();
});

async function as(user, options) {
  const page = await userPage(browser, server, user, options);
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

// Issue 16 point 5: a term the demo's MedDRA knows is coded in the saving
// batch; the AE log and the casebook show its PT and SOC, and a term with no
// single match (the serious event above) plainly as not coded.
test('a non-serious adverse event is coded on saving and its PT shows on the form and in the casebook', async () => {
  assert.ok(CASE, 'the serious adverse event of the first test');
  const page = await as('coord.701');
  try {
    await page.goto(studyUrl('/subjects/701-1001/visits/LOGS/forms/AE'));
    await page.getByRole('button', { name: 'Add a row' }).click();
    await page.getByLabel('Adverse event, row new').fill('Headache');
    await page.getByLabel('Start date, row new').fill(TODAY);
    await page.getByLabel('Ongoing, row new').selectOption('true');
    await page.getByLabel('Severity, row new').selectOption('MILD');
    await page.getByLabel('Serious, row new').selectOption('N');
    await page.getByLabel('Relationship to study drug, row new').selectOption('REMOTE');
    await page.getByLabel('Action taken with study drug, row new').selectOption('DOSE NOT CHANGED');
    await page.getByLabel('Outcome, row new').selectOption('NOT RECOVERED/NOT RESOLVED');
    assert.match(await page.locator('table.rows tbody tr').last().locator('td.coding').innerText(), /coded when saved/);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('.ok-box').getByText('Saved Adverse events at Subject logs').waitFor();
    const saved = page.locator('table.rows tbody tr').last();
    await saved.locator('td.coding .meddra-pt').filter({ hasText: 'Headache' }).waitFor();
    assert.match(await saved.locator('td.coding').innerText(), /Headache\s+Nervous system disorders/);
    assert.match(await saved.locator('td.coding .meddra').getAttribute('title'), /^LLT Headache · PT Headache · SOC Nervous system disorders · MedDRA \S+, the autocoder's exact match/);
    // Each row's coding by its term (the first text field of the row).
    const codings = await page.locator('table.rows tbody tr').evaluateAll((rows) =>
      Object.fromEntries(rows.map((r) => [r.querySelector('input[type="text"]')?.value, r.querySelector('td.coding')?.innerText.trim()])));
    assert.equal(codings[TERM], 'not coded');
    assert.match(codings.SYNCOPE, /^Syncope\s+\S/, 'the demo\'s own serious event, coded when the demo saved it');
    await expectAccessible(page, 'the AE log with its coding');

    await page.goto(studyUrl('/subjects/701-1001'));
    const panel = page.locator('section[aria-labelledby="ae-title"]');
    const headache = panel.locator('tbody tr').filter({ has: page.getByRole('link', { name: 'Headache' }) });
    await headache.waitFor();
    assert.match(await headache.locator('.meddra').innerText(), /^Headache\s+Nervous system disorders\s+LLT Headache · PT Headache/);
    assert.equal(await panel.locator('tbody tr').filter({ has: page.getByRole('link', { name: TERM }) }).locator('.meddra').innerText(), 'not coded');
    await expectAccessible(page, 'the casebook with its adverse events');
  } finally {
    await screenshot(page, 'ae-coded');
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

// The example acknowledgement, made to answer the batch and the message sent.
function acknowledgement(batchNumber, messageId) {
  const xml = readFileSync(ACK_EXAMPLE, 'utf8')
    .replace(/(<targetBatch>\s*<id\b[^>]*?\bextension=")[^"]*"/, `$1${batchNumber}"`)
    .replace(/(<targetMessage>\s*<id\b[^>]*?\bextension=")[^"]*"/, `$1${messageId}"`);
  assert.ok(xml.includes(batchNumber) && xml.includes(messageId), 'the acknowledgement names the batch and the message');
  return Buffer.from(xml, 'utf8');
}

test('the safety physician works the case from triage to complete', async () => {
  assert.ok(CASE, 'the case of the first test');
  const page = await as('safety.1');
  const stage = page.getByTestId('case-stage');
  const step = async (name) => {
    await screenshot(page, 'safety-case-' + name);
  };
  try {
    await page.goto(studyUrl('/safety'));
    await page.locator(`table.safety-cases tr[data-case="${CASE}"]`).getByRole('link', { name: CASE }).click();
    await page.waitForURL(new RegExp(`/safety/cases/${CASE}$`));
    await page.getByRole('heading', { level: 1, name: new RegExp(CASE) }).waitFor();
    await stage.filter({ hasText: 'awaiting triage' }).waitFor();
    assert.match(await page.locator('dl.facts').innerText(), new RegExp(TERM));
    await expectAccessible(page, 'the safety case page at triage');

    // Triage: a valid case.
    await page.getByLabel('Valid case').check();
    await page.getByRole('button', { name: 'Record triage' }).click();
    await stage.filter({ hasText: 'awaiting MedDRA coding' }).waitFor();
    await step('triaged');

    // Coding: the verbatim term has no single match in the demo dictionary; look up "Syncope".
    await page.getByLabel('Look up another term').fill('Syncope');
    await page.getByRole('button', { name: 'Look up' }).click();
    await page.getByRole('heading', { name: /"Syncope"/ }).waitFor();
    await page.getByRole('button', { name: /^Code as Syncope \(Syncope, / }).first().click();
    await stage.filter({ hasText: 'awaiting medical review' }).waitFor();
    assert.match(await page.locator('#coding-title + p').innerText(), /^Coded in MedDRA \S+ .*verbatim "SYNCOPE AT HOME"/);
    assert.match(await page.locator('section[aria-labelledby="coding-title"] .meddra-path').first().innerText(), /LLT Syncope .*PT Syncope/);
    await step('coded');

    // Medical review: related and unexpected, a SUSAR.
    await page.getByLabel('Related', { exact: true }).check();
    await page.getByLabel('Unexpected', { exact: true }).check();
    await expectAccessible(page, 'the safety case page at medical review');
    await page.getByRole('button', { name: 'Record the assessment' }).click();
    await stage.filter({ hasText: 'awaiting approval' }).waitFor();
    assert.match(await page.locator('section[aria-labelledby="review-title"]').innerText(), /A SUSAR/);

    await page.getByRole('button', { name: 'Approve version 1' }).click();
    await stage.filter({ hasText: 'to be submitted' }).waitFor();
    await step('approved');

    // Submission: the FDA's message is valid before it is sent; then the EU's.
    await page.getByTestId('e2b-status-FDA').filter({ hasText: /message is valid/ }).waitFor();
    await expectAccessible(page, 'the safety case page with the E2B checks');
    await page.getByRole('button', { name: 'Submit to FDA' }).click();
    await page.locator('table.submissions tr[data-destination="FDA"]').waitFor();
    await page.getByTestId('e2b-status-EU').filter({ hasText: /message is valid/ }).waitFor();
    await page.getByRole('button', { name: 'Submit to EU' }).click();
    await stage.filter({ hasText: 'awaiting acknowledgement' }).waitFor();
    await step('submitted');

    // The receivers' acknowledgements, one per destination.
    for (const destination of ['FDA', 'EU']) {
      const row = page.locator(`table.submissions tr[data-destination="${destination}"]`);
      const batch = (await row.locator('.batch-number').innerText()).trim();
      const message = (await row.locator('.message-id').innerText()).trim();
      await page.getByLabel('Acknowledgement file (XML)').setInputFiles({
        name: `${destination}-ack.xml`, mimeType: 'application/xml', buffer: acknowledgement(batch, message),
      });
      await page.getByRole('button', { name: 'Upload acknowledgement' }).click();
      await row.locator('.ack').filter({ hasText: 'accepted' }).waitFor();
      assert.match(await page.locator('table.ack-reply').innerText(), new RegExp(`${CASE}\\s+\\d+\\s+${destination}\\s+accepted`));
    }
    await stage.filter({ hasText: 'complete' }).waitFor();
    assert.match(await stage.innerText(), /^complete/);
    const history = await page.locator('table.case-history').innerText();
    for (const what of [/Triaged: valid/, /Coded "SYNCOPE AT HOME" as Syncope/, /Medical review of version 1/, /Approved version 1/,
      /submitted to FDA/, /submitted to EU/, /accepted/]) {
      assert.match(history, what);
    }
    await expectAccessible(page, 'the completed safety case');

    // A SUSAR's report to the FDA needs the treatment: the safety physician
    // unblinds this one case, and the study's unblinded contacts are told by
    // e-mail, which carries no arm; the page shows who was told.
    await page.getByRole('button', { name: 'Unblind…' }).click();
    await giveReason(page, 'SUSAR: the FDA report needs the treatment');
    await page.getByRole('heading', { name: 'Treatment (unblinded for this case)' }).waitFor();
    const told = page.locator('table.case-told');
    await told.waitFor();
    for (let i = 0; i < 100 && !/sent[\s\S]*sent/.test(await told.innerText()); ++i) {
      await page.waitForTimeout(200);
      await page.reload();
      await told.waitFor();
    }
    const toldText = await told.innerText();
    assert.match(toldText, /unblinded\.stats@example\.org\s+sent/);
    assert.match(toldText, /dsmb\.chair@example\.org\s+sent/);
    const mails = mail.mails();
    assert.equal(mails.length, 2, 'one mail to each unblinded contact');
    for (const m of mails) {
      assert.match(m, new RegExp(CASE));
      for (const arm of ['Placebo', 'Xanomeline']) assert.ok(!m.includes(arm), `the mail names no arm: ${m}`);
    }
    await expectAccessible(page, 'the unblinded case with who was told');

    // The dashboard's Safety tile leads to the most urgent open case.
    await page.goto(studyUrl());
    const tile = page.getByTestId('safety-tile');
    await tile.waitFor();
    assert.match(await tile.innerText(), /\d+\s+open safety cases/);
    assert.match(await tile.innerText(), /Most urgent: \S+-SAE\d+/);
    await expectAccessible(page, 'the dashboard with its Safety tile');
  } finally {
    await step('complete');
  }
});

test('on a phone the inbox and the case page fit the screen', async () => {
  assert.ok(CASE, 'the case of the first test');
  const page = await as('safety.1', { viewport: { width: 390, height: 844 } });
  try {
    await page.goto(studyUrl('/safety?state='));
    await page.locator(`table.safety-cases tr[data-case="${CASE}"]`).waitFor();
    await expectFitsWidth(page, 'the safety inbox on a phone');
    await page.goto(studyUrl(`/safety/cases/${CASE}`));
    await page.locator('table.case-history').waitFor();
    await expectFitsWidth(page, 'the safety case page on a phone');
  } finally {
    await screenshot(page, 'safety-case-phone');
  }
});

test('the safety physician enters a spontaneous report, a case of its own at triage', async () => {
  const page = await as('safety.1');
  try {
    await page.goto(studyUrl('/safety'));
    await page.getByRole('link', { name: 'Enter a spontaneous or literature report' }).click();
    await page.getByRole('heading', { name: 'Enter a safety report' }).waitFor();
    await expectAccessible(page, 'the safety report intake form');
    await page.getByLabel('Qualification').selectOption('pharmacist');
    await page.getByLabel('Family name').fill('Okafor');
    await page.getByLabel('Country (two letters)').fill('US');
    await page.getByLabel('E-mail').fill('okafor@example.org');
    await page.getByLabel('Age (years)').fill('64');
    await page.getByLabel('Event, as reported').fill('Fainted at the pharmacy');
    await page.getByLabel('Outcome').selectOption('RECOVERED');
    // Without a seriousness criterion it is not a safety case: the server says so.
    await page.getByRole('button', { name: 'Enter the report' }).click();
    await page.locator('.error-box').getByText(/seriousness criterion/).waitFor();
    await page.getByLabel('hospitalisation').check();
    await page.getByRole('button', { name: 'Enter the report' }).click();
    await page.waitForURL(/\/safety\/cases\/DC-\d+$/);
    const id = page.url().match(/DC-\d+$/)[0];
    await page.getByRole('heading', { name: 'The report, as received' }).waitFor();
    const facts = await page.locator('dl.facts').innerText();
    assert.match(facts, /spontaneous report/);
    assert.match(facts, /Okafor, pharmacist, US/);
    assert.match(facts, /Fainted at the pharmacy/);
    assert.match(facts, /Received\s+\d{2}-[A-Z]{3}-\d{4}/);
    await expectAccessible(page, 'a spontaneous report\'s case page');
    // It is in the inbox with its clock, named by its source, not a subject.
    await page.goto(studyUrl('/safety'));
    const row = page.locator(`table.safety-cases tr[data-case="${id}"]`);
    await row.waitFor();
    assert.match(await row.innerText(), /spontaneous report/);
    assert.match(await row.innerText(), /FDA: \d{4}-\d{2}-\d{2} \(15 days\)/);

    // The reporter calls back: the form holds the report as it stands, and
    // the new information needs a reason.
    await row.getByRole('link', { name: id }).click();
    await page.getByRole('link', { name: 'Enter new information…' }).click();
    await page.getByRole('heading', { name: `New information on safety case ${id}` }).waitFor();
    assert.equal(await page.getByLabel('Family name').inputValue(), 'Okafor');
    assert.equal(await page.getByLabel('Event, as reported').inputValue(), 'Fainted at the pharmacy');
    assert.ok(await page.getByLabel('hospitalisation').isChecked(), 'the criteria as entered');
    await expectAccessible(page, 'the new information form');
    await page.getByLabel('Outcome').selectOption('RECOVERED_WITH_SEQUELAE');
    await page.getByLabel('Reason for the change').fill('the pharmacist called back on day 3');
    await page.getByRole('button', { name: 'Record the new information' }).click();
    await page.waitForURL(new RegExp(`/safety/cases/${id}$`));
    await page.getByRole('heading', { name: 'The report, as received' }).waitFor();
    await page.locator('dl.facts').getByText('RECOVERED_WITH_SEQUELAE').waitFor();
    assert.match(await page.locator('dl.facts').innerText(), /Version\s+\d+ \(1 with new information\)/);
  } finally {
    await screenshot(page, 'safety-direct-case');
  }
});

test('the safety physician imports an E2B(R3) file: each report a case, and the same file twice is refused', async () => {
  const page = await as('safety.1');
  const file = {
    name: 'FAERS2022Scenario1.xml', mimeType: 'application/xml',
    buffer: readFileSync(path.join(repoRoot, '../shared/data/e2b/examples/FAERS2022Scenario1.xml')),
  };
  try {
    await page.goto(studyUrl('/safety'));
    const upload = page.getByLabel('E2B(R3) reports (XML)');
    // A file that is no E2B(R3) batch is refused, and says where.
    await upload.setInputFiles({ name: 'notes.xml', mimeType: 'application/xml', buffer: Buffer.from('<notes>') });
    await page.getByRole('button', { name: 'Import E2B(R3) reports' }).click();
    await page.locator('.intake-links .error-box').getByText(/notes\.xml/).waitFor();
    await upload.setInputFiles(file);
    await page.getByRole('button', { name: 'Import E2B(R3) reports' }).click();
    const done = page.getByTestId('imported');
    await done.waitFor();
    assert.match(await done.innerText(), /FAERS2022Scenario1\.xml imported: case DC-\d+/);
    const id = (await done.innerText()).match(/DC-\d+/)[0];
    const row = page.locator(`table.safety-cases tr[data-case="${id}"]`);
    await row.waitFor();
    assert.match(await row.innerText(), /E2B\(R3\) report imported/);
    await expectAccessible(page, 'the Safety page after an import');
    await upload.setInputFiles(file);
    await page.getByRole('button', { name: 'Import E2B(R3) reports' }).click();
    await page.locator('.intake-links .error-box').getByText(/imported already as/).waitFor();
    await done.getByRole('link', { name: id }).waitFor({ state: 'detached' });
    // Its case page shows the report as it came, with no form for new
    // information: a newer report brings that.
    await page.goto(studyUrl('/safety/cases/' + id));
    await page.getByRole('heading', { name: 'The report, as received' }).waitFor();
    assert.match(await page.locator('dl.facts').innerText(), /worldwide case id/);
    assert.equal(await page.getByRole('link', { name: 'Enter new information…' }).count(), 0);
  } finally {
    await screenshot(page, 'safety-e2b-import');
  }
});

test('the safety team reads the DSUR tabulation and the signals, and downloads the line listing', async () => {
  assert.ok(CASE, 'the case of the first test');
  const page = await as('safety.1');
  try {
    await page.goto(studyUrl('/safety'));
    await page.getByRole('link', { name: 'Line listing, DSUR tabulation and signal detection' }).click();
    await page.getByRole('heading', { level: 1, name: 'Safety listings and signals' }).waitFor();
    // The SUSAR coded and assessed above is a serious adverse reaction (the
    // demo's own serious syncope, judged related, is another).
    const tabulation = page.locator('table.sar-tabulation');
    await tabulation.waitFor();
    assert.match(await tabulation.innerText(), /Nervous system disorders\s+Syncope\s+[2-9]\s+0\s+[1-9]/);
    // One product (the study's) among the counted cases: counted, not mined;
    // the reports not coded yet are named as left out.
    const summary = await page.getByTestId('signals-summary').innerText();
    assert.match(summary, /^\d+ cases? counted over 1 product; \d+ left out, not coded yet\./);
    assert.match(summary, /disproportionality compares products/);
    assert.match(await page.locator('table.safety-signals').innerText(), /Xanomeline TTS\s+Syncope\s+[2-9]$/m);
    await expectAccessible(page, 'the safety listings and signals');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download the line listing (CSV)' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'safety-line-listing-CDISCPILOT01.csv');
    const lines = readFileSync(await download.path(), 'utf8').trimEnd().split(/\r?\n/);
    assert.match(lines[0], /^case,subject,site,verbatim,llt,pt,soc,/);
    assert.ok(lines.some((l) => l.startsWith(CASE + ',')), 'the CRF case is listed');
    assert.ok(lines.some((l) => /^DC-\d+,/.test(l)), 'and the reports from outside the CRF');
  } finally {
    await screenshot(page, 'safety-outputs');
  }
});
