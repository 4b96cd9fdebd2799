// A visit end to end in the browser, as the people of a study do it: the
// coordinator enters it, a check raises a query, the monitor and the
// coordinator work the query, the monitor verifies, the investigator signs,
// a later change breaks the signature, and the audit trail shows it all.
// The tests run in order on one server and one new subject.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { endSuite, giveReason, launchBrowser, PASSWORD, screenshot, Server, studyUrl, userPage } from './harness.mjs';

// The server numbers the subject when it is screened (the first test).
let SUBJECT = '';
let server;
let browser;
const pages = [];

async function as(user) {
  const page = await userPage(browser, server, user);
  pages.push(page);
  return page;
}

async function openForm(page, visit, form) {
  await page.goto(studyUrl(`/subjects/${SUBJECT}`));
  await page.locator(`a[data-cell="${visit}/${form}"]`).click();
  await page.locator('form[aria-label]').waitFor();
}

before(async () => {
  server = await Server.start();
  browser = await launchBrowser();
});

after(() => endSuite(pages, browser, server));

test('a coordinator screens a subject numbered by the server, enters the visit date first, then a visit with an out-of-range value, and a query appears', async () => {
  const page = await as('coord.701');
  try {
    await page.locator('header nav').getByRole('link', { name: 'Subjects' }).click();
    // The study numbers subjects: no number is typed, the site's next one is given.
    assert.equal(await page.getByLabel('Subject number').count(), 0, 'no number to type');
    await page.getByText('The subject number is assigned when you screen').waitFor();
    await page.locator('#screen-title + form select[name=site]').selectOption('701');
    await page.getByRole('button', { name: 'Screen', exact: true }).click();
    const heading = page.getByRole('heading', { name: /^Subject 701-\d{4}$/ });
    await heading.waitFor();
    SUBJECT = (await heading.innerText()).replace('Subject ', '');

    // The visit's other forms wait for its date: the page says why and links to it.
    await openForm(page, 'SCREENING1', 'VS');
    const notice = page.locator('#visit-date-first');
    await notice.getByText('Enter the date of SCREENING 1 first').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Save' }).count(), 0, 'nothing to save before the date');
    assert.ok(await page.locator('#item-SYSBP').isDisabled(), 'the items are read only');
    await notice.getByRole('link', { name: 'Enter the visit date (Visit)' }).click();
    await page.locator('#item-SVSTDTC').waitFor();
    await page.locator('#item-SVSTDTC').fill(new Date().toISOString().slice(0, 10));
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('.ok-box').getByText('Saved Visit at SCREENING 1').waitFor();

    await openForm(page, 'SCREENING1', 'VS');
    assert.equal(await page.locator('#visit-date-first').count(), 0, 'the date is in: the form is open');
    await page.locator('#item-VSPOS').selectOption('SITTING');
    await page.locator('#item-SYSBP').fill('175');
    await page.locator('#item-DIABP').fill('80');
    await page.locator('#item-PULSE').fill('72');
    // The soft range's message stands next to the item before anything is saved.
    const message = page.locator('[data-item=SYSBP] .item-messages');
    await assert.doesNotReject(message.getByText('Systolic blood pressure 175 mmHg is outside the expected 90 to 160').waitFor());
    // A hard range refuses: 400 is impossible and the save is refused.
    await page.locator('#item-PULSE').fill('400');
    await page.locator('[data-item=PULSE] .item-messages').getByText('is impossible').waitFor();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('.error-box').getByText('Not saved').waitFor();
    await page.locator('#item-PULSE').fill('72');
    await page.locator('[data-item=PULSE] .item-messages p.error').waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('.ok-box').getByText('query 1 opened').waitFor();
    await page.locator('[data-item=SYSBP]').getByRole('button', { name: 'Query 1: open' }).waitFor();
    // The casebook's grid flags the open query on the form.
    await page.goto(studyUrl(`/subjects/${SUBJECT}`));
    const cell = page.locator('a[data-cell="SCREENING1/VS"]');
    assert.match(await cell.getAttribute('aria-label'), /complete, 1 open query/);
  } finally {
    await screenshot(page, 'coordinator-enters-visit');
  }
});

test('enrolment refused: each criterion in the protocol\'s words, met, not met or not yet answerable, with the form that answers it', async () => {
  const page = await as('coord.701');
  try {
    await page.goto(studyUrl(`/subjects/${SUBJECT}`));
    const panel = page.locator('section[aria-labelledby=elig-title]');
    await panel.getByText('criteria cannot be answered yet').waitFor();
    const mmse = panel.locator('li', { hasText: 'MMSE score of 10 to 23.' });
    await mmse.locator('.badge', { hasText: 'Not yet answerable' }).waitFor();
    assert.equal(await mmse.getByRole('link').innerText(), 'Answer it on Eligibility (SCREENING 1)');
    assert.doesNotMatch(await panel.innerText(), /\b(INCL|EXCL)\d\d\b/, 'site staff see the words, not the codes');

    await page.getByRole('button', { name: 'Enrol' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Enrol' }).click();
    await page.locator('.error-box').getByText(`Subject ${SUBJECT} cannot be enrolled yet: some criteria cannot be answered yet.`).waitFor();

    const age = panel.locator('li', { hasText: 'Males and postmenopausal females at least 50 years of age.' });
    await age.getByRole('link', { name: 'Answer it on Demographics (SCREENING 1)' }).click();
    await page.locator('#item-BRTHDTC').waitFor();
  } finally {
    await screenshot(page, 'enrolment-refused');
  }
});

test('the study home is live: a query raised elsewhere shows without reloading', async () => {
  const manager = await as('dm.1');
  const coordinator = await as('coord.701');
  try {
    await manager.goto(studyUrl(''));
    // What needs doing is listed, each with a link to its casebook.
    await manager.locator('a.tile', { hasText: 'visits out of window' }).click();
    const late = manager.locator('section[aria-labelledby=window-title] tbody tr');
    assert.equal(await late.count(), Number(await manager.locator('a.tile', { hasText: 'visits out of window' }).locator('.figure').innerText()));
    assert.match(await late.first().getByRole('link').getAttribute('href'), /\/subjects\/\d{3}-\d{4}$/);
    const tile = manager.locator('a.tile', { hasText: 'open queries' }).locator('.figure');
    const before = Number(await tile.innerText());
    await openForm(coordinator, 'SCREENING1', 'VS');
    await coordinator.locator('#item-PULSE').fill('130');  // soft: 120 or more with no AE on the log
    await coordinator.getByRole('button', { name: 'Save' }).click();
    await giveReason(coordinator, 're-measured after rest');
    await coordinator.locator('.ok-box').getByText('opened').waitFor();
    await manager.waitForFunction(
      ([selector, n]) => Number(document.querySelector(selector)?.textContent) > n,
      ['a.tile .figure', before],
    );
  } finally {
    await screenshot(manager, 'home-live');
  }
});

test('the monitor opens the query, the coordinator answers it, the monitor verifies the form and closes the query', async () => {
  const monitor = await as('cra.1');
  const coordinator = await as('coord.701');
  try {
    await monitor.locator('header nav').getByRole('link', { name: 'Queries' }).click();
    await monitor.getByLabel('State').selectOption('open');
    const row = monitor.locator('tr', { hasText: SUBJECT }).filter({ hasText: 'Systolic blood pressure' });
    await row.getByRole('link', { name: /Vital signs/ }).click();
    // Opened from the inbox, the query's thread shows on its item.
    await monitor.locator('.thread').getByText('outside the expected 90 to 160').waitFor();

    await openForm(coordinator, 'SCREENING1', 'VS');
    await coordinator.getByRole('button', { name: 'Query 1: open' }).click();
    await coordinator.getByLabel('Message for query 1').fill('Confirmed against the source: the patient was anxious.');
    await coordinator.getByRole('button', { name: 'Answer' }).click();
    await coordinator.getByRole('button', { name: 'Query 1: answered' }).waitFor();

    await openForm(monitor, 'SCREENING1', 'VS');
    // Verifying a whole form asks first, and says what it leaves out: the
    // pulse, whose query (raised by the check on the pulse of 130) awaits the site.
    await monitor.getByRole('button', { name: 'Verify whole form' }).click();
    let confirm = monitor.getByRole('dialog');
    await confirm.getByText('Not verified, their query awaits the site: Pulse rate (query 2)').waitFor();
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    assert.equal(await monitor.locator('.badge.verified').count(), 0, 'cancelled: nothing verified');
    await monitor.getByRole('button', { name: 'Verify whole form' }).click();
    confirm = monitor.getByRole('dialog');
    assert.match(await confirm.innerText(), /Verify 3 items of Vital signs at SCREENING 1[\s\S]*Systolic blood pressure/);
    await confirm.getByRole('button', { name: 'Verify 3 items' }).click();
    await monitor.locator('.ok-box').getByText('Not verified, their query awaits the site: Pulse rate (query 2).').waitFor();
    assert.ok((await monitor.locator('[data-item=SYSBP] .badge.verified').count()) === 1, 'SYSBP shows as verified');
    assert.equal(await monitor.locator('[data-item=PULSE] .badge.verified').count(), 0, 'the pulse waits for its query');
    await monitor.locator('[data-item=PULSE]').getByText('verify once the site answers its query').waitFor();
    await monitor.getByRole('button', { name: 'Query 1: answered' }).click();
    await monitor.locator('.thread').getByText('the patient was anxious').waitFor();
    await monitor.getByLabel('Message for query 1').fill('Accepted.');
    await monitor.getByRole('button', { name: 'Close query' }).click();
    await monitor.getByRole('button', { name: 'Query 1: closed' }).waitFor();
  } finally {
    await screenshot(monitor, 'monitor-verifies-and-closes');
    await screenshot(coordinator, 'coordinator-answers');
  }
});

test('the monitor\'s verification page shows the plan, the share by site and the forms left to verify; the site does not see it', async () => {
  const monitor = await as('cra.1');
  const coordinator = await as('coord.701');
  try {
    await monitor.locator('header nav').getByRole('link', { name: 'Verification' }).click();
    await monitor.getByText('Verified on every subject: Cognitive assessments, Adverse events, Disposition').waitFor();
    const site = monitor.locator('table.sdv-sites tr[data-site="701"]');
    assert.match(await site.innerText(), /high risk, 100%[\s\S]*\d+ of \d+ \(\d+%\)/);
    // Only site 701's forms once the site is chosen, this subject's vital signs among them, with its open query.
    await monitor.locator('select[name=site]').selectOption('701');
    await monitor.waitForURL(/\/sdv\?site=701$/);
    await monitor.locator('input[name=subject]').fill(SUBJECT);
    await monitor.locator('input[name=subject]').press('Enter');
    await monitor.waitForURL(/\/sdv\?site=701&subject=/);
    const work = monitor.locator('table.sdv-work tbody tr', { hasText: SUBJECT }).filter({ hasText: 'Vital signs' });
    await work.waitFor();
    assert.match(await work.innerText(), /3 of 4\s+2 \(wait for the site\)/);
    await work.getByRole('link', { name: /Vital signs/ }).click();
    await monitor.locator('[data-item=PULSE]').waitFor();

    // Which subjects the sample holds is kept from the sites: no link, and the server refuses.
    await coordinator.goto(studyUrl(''));
    assert.equal(await coordinator.locator('header nav').getByRole('link', { name: 'Verification' }).count(), 0);
    await coordinator.goto(studyUrl('/sdv'));
    await coordinator.locator('.error-box').getByText('not for the role coordinator').waitFor();
  } finally {
    await screenshot(monitor, 'sdv-worklist');
  }
});

test('the investigator signs the casebook; a later change shows the signature as broken', async () => {
  const investigator = await as('inv.701');
  const coordinator = await as('coord.701');
  try {
    await investigator.goto(studyUrl(`/subjects/${SUBJECT}`));
    await investigator.getByRole('button', { name: 'Sign casebook…' }).click();
    const dialog = investigator.getByRole('dialog');
    // Before the password, what is open, missing or unverified in the casebook, in the study's words.
    const summary = dialog.locator('section.signing-summary');
    await summary.getByText('Before you sign').waitFor();
    assert.match(await summary.locator('[data-summary=queries]').innerText(), /Query \d+ \(open\) on Pulse[\s\S]*Vital signs at SCREENING 1/i);
    assert.match(await summary.locator('[data-summary=missing]').innerText(), /Demographics at SCREENING 1/);
    await dialog.getByLabel('Meaning of this signature').selectOption('approval');
    // A wrong password is refused and nothing is signed.
    await dialog.getByLabel('Password').fill('not my password at all');
    await dialog.getByRole('button', { name: 'Sign' }).click();
    await dialog.locator('.error-box').waitFor();
    await dialog.getByLabel('Password').fill(PASSWORD);
    await dialog.getByRole('button', { name: 'Sign' }).click();
    const signature = investigator.locator('li.signature').first();
    await signature.getByText('Valid').waitFor();
    // The manifestation: printed name, UTC time and meaning.
    assert.match(await signature.innerText(), /Dr\. Ivy Investigator \(inv\.701\) signed the whole casebook on \d{2}-[A-Z]{3}-\d{4} \d{2}:\d{2}:\d{2} UTC; meaning: approval/);

    // The signed form opens read only, saying who signed; changing it is a choice that breaks the signature.
    await openForm(coordinator, 'SCREENING1', 'VS');
    const note = coordinator.locator('[data-read-only=signed]');
    await note.getByText(/Signed by Dr\. Ivy Investigator on \d{2}-[A-Z]{3}-\d{4}/).waitFor();
    assert.ok(await coordinator.locator('#item-SYSBP').isDisabled(), 'signed data are not typed over by accident');
    await note.getByRole('button', { name: 'Change data…' }).click();
    await coordinator.getByRole('dialog').getByText('Saving a change breaks the signature').waitFor();
    await coordinator.getByRole('dialog').getByRole('button', { name: 'Change data' }).click();
    // The coordinator corrects the blood pressure: a reason is asked for.
    await coordinator.locator('#item-SYSBP').fill('150');
    await coordinator.getByRole('button', { name: 'Save' }).click();
    const reason = coordinator.getByRole('dialog');
    await reason.getByText('Systolic blood pressure from 175 to 150').waitFor();
    // The study's standard reasons are offered; "Other" asks for words.
    await reason.getByLabel('Reason for change').selectOption('other');
    await reason.getByRole('button', { name: 'Continue' }).click();
    await reason.getByText('Describe the reason in your own words.').waitFor();
    await reason.getByLabel('Reason for change').selectOption('Transcription error, corrected from source');
    await reason.getByRole('button', { name: 'Continue' }).click();
    await coordinator.locator('.ok-box').getByText('is broken by this change').waitFor();

    await investigator.reload();
    await investigator.locator('li.signature.broken').getByText('Signature broken').waitFor();
    // The investigator's home lists it as awaiting their signature again.
    await investigator.goto(studyUrl(''));
    const awaiting = investigator.locator('section[aria-labelledby=awaiting-title]');
    await awaiting.locator(`tr[data-awaiting="${SUBJECT}"]`).getByText('Signature broken by a later change').waitFor();
  } finally {
    await screenshot(investigator, 'signature-broken');
  }
});

test('the monitor sees what changed since verification', async () => {
  const monitor = await as('cra.1');
  try {
    await openForm(monitor, 'SCREENING1', 'VS');
    const sysbp = monitor.locator('[data-item=SYSBP]');
    await sysbp.getByText('changed since verification (was 175)').waitFor();
    assert.equal(await monitor.locator('[data-item=DIABP] .badge.reset').count(), 0, 'unchanged items stay verified');
  } finally {
    await screenshot(monitor, 'changed-since-verification');
  }
});

test('a coordinator at another site can neither find nor open the subject', async () => {
  const page = await as('coord.708');
  try {
    await page.locator('header nav').getByRole('link', { name: 'Subjects' }).click();
    await page.getByLabel('Search').fill('701-');
    await page.locator('caption', { hasText: /^0 of/ }).waitFor();
    assert.equal(await page.getByText(SUBJECT).count(), 0);
    await page.goto(studyUrl(`/subjects/${SUBJECT}`));
    await page.getByText(`There is no subject ${SUBJECT} that you may see.`).waitFor();
    await page.goto(studyUrl(`/subjects/${SUBJECT}/visits/SCREENING1/forms/VS`));
    await page.getByText('This form does not exist for you.').waitFor();
    assert.equal(await page.locator('#item-SYSBP').count(), 0);
    await page.goto(studyUrl('/queries?state='));
    await page.locator('caption').waitFor();
    assert.equal(await page.getByText(SUBJECT).count(), 0);
  } finally {
    await screenshot(page, 'other-site');
  }
});

test('the audit trail viewer shows every change made here, with its reason, and the form as it stood', async () => {
  const page = await as('coord.701');
  try {
    await page.goto(studyUrl(`/subjects/${SUBJECT}`));
    await page.getByRole('link', { name: 'Audit trail' }).click();
    const table = page.locator('table.audit');
    await table.waitFor();
    const rows = async (pattern) => table.locator('tbody tr', { hasText: pattern });
    const entered = (await rows('Systolic blood pressure')).filter({ hasText: 'form.saved' }).filter({ hasNotText: '(verified)' });
    assert.equal(await entered.count(), 2, 'entry and correction of SYSBP');
    assert.match(await entered.nth(0).innerText(), /coord\.701[\s\S]*175/);
    assert.match(await entered.nth(1).innerText(), /175\s+150\s+Transcription error, corrected from source/);
    for (const event of ['subject.screened', 'query.opened', 'query.answered', 'query.closed', 'sdv.verified', 'signature.applied', 'signature.invalidated']) {
      assert.ok((await (await rows(event)).count()) > 0, `the trail shows ${event}`);
    }
    assert.ok((await (await rows('query.answered')).filter({ hasText: 'the patient was anxious' }).count()) > 0);
    // The form as it stood right after the first save: 175.
    await page.goto(studyUrl(`/subjects/${SUBJECT}/audit?path=subject/${SUBJECT}/SCREENING1/VS`));
    await table.waitFor();
    await table.locator('tbody tr', { hasText: 'form.saved' }).first().getByRole('button').click();
    const then = page.locator('section[aria-labelledby=as-of-title]');
    await then.locator('tr', { hasText: 'Systolic blood pressure' }).getByText('175').waitFor();
  } finally {
    await screenshot(page, 'audit-trail');
  }
});

// The text of the file a button downloads.
async function downloadText(page, button) {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: button, exact: true }).click()]);
  const chunks = [];
  for await (const chunk of await download.createReadStream()) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

test('the data manager lists a form across subjects, filters it by a value with labels shown, downloads it as CSV, and reads the missing pages, entry lag and query turnaround', async () => {
  const manager = await as('dm.1');
  try {
    await manager.locator('header nav').getByRole('link', { name: 'Reports' }).click();
    await manager.locator('select[name=form]').selectOption('VS');
    await manager.locator('input[name=subject]').fill(SUBJECT);
    await manager.locator('input[name=subject]').press('Enter');
    await manager.waitForURL((url) => url.searchParams.get('subject') === SUBJECT);
    const row = manager.locator('table.listing tbody tr', { hasText: SUBJECT });
    await manager.locator('table.listing caption', { hasText: /^Vital signs: 1 form$/ }).waitFor();
    assert.match(await row.innerText(), /SCREENING 1[\s\S]*SITTING[\s\S]*150[\s\S]*80[\s\S]*130/);
    const csv = (await downloadText(manager, 'Download CSV')).split('\r\n');
    assert.match(csv[0], /^subject,site,visit,group,row,VSTM,VSPOS,SYSBP,DIABP,PULSE,/);
    assert.equal(csv[1].split(',').slice(0, 10).join(','), `${SUBJECT},701,SCREENING1,,,,SITTING,150,80,130`);

    // Filtered by one item's value: the items' labels head the columns, coded values read as their labels;
    // the CSV with labels keeps the item ids as its headers.
    await manager.locator('input[name=subject]').fill('');
    await manager.locator('input[name=subject]').press('Enter');
    await manager.waitForURL((url) => !url.searchParams.get('subject'));
    await manager.locator('select[name=form]').selectOption('DM');
    await manager.locator('select[name=item]').selectOption({ label: 'Sex' });
    await manager.locator('select[name=value]').selectOption({ label: 'Female' });
    await manager.waitForURL((url) => url.searchParams.get('item') === 'SEX' && url.searchParams.get('value') === 'F');
    await manager.locator('table.listing th', { hasText: 'Date of birth' }).waitFor();
    await manager.waitForFunction(() => {
      const body = document.querySelector('table.listing tbody')?.textContent ?? '';
      return body.includes('Female') && !/\bMale\b/.test(body);
    });
    const labelled = (await downloadText(manager, 'Download CSV with labels')).split('\r\n').filter(Boolean);
    assert.match(labelled[0], /^subject,site,visit,group,row,INITIALS,BRTHDTC,AGE,SEX,/);
    assert.ok(labelled.length > 1 && labelled.slice(1).every((line) => line.includes(',Female,')), labelled.join('\n'));

    // The blinded data manager's listing of exposure has no column, nor value, of the dose.
    await manager.locator('select[name=form]').selectOption('EX');
    await manager.locator('table.listing caption', { hasText: 'Study drug exposure' }).waitFor();
    assert.equal(await manager.locator('table.listing th', { hasText: 'Daily dose' }).count(), 0);

    await manager.locator('select[name=report]').selectOption('missing');
    await manager.locator('table.missing-pages tbody tr').first().waitFor();
    await manager.locator('select[name=report]').selectOption('lag');
    assert.match(await manager.locator('table.entry-lag tr[data-site="701"]').innerText(), /Site 701\s+\d+\s+-?\d+\.\d/);
    await manager.locator('select[name=report]').selectOption('queries');
    assert.match(await manager.locator('table.query-turnaround tr[data-site="701"]').innerText(), /Site 701\s+\d+\s+\d+ \(\d+\.\d\)/);
  } finally {
    await screenshot(manager, 'reports');
  }
});

test('a subject screened in error is inactivated with a reason: kept in the audit trail, hidden from the list unless asked for', async () => {
  const page = await as('coord.701');
  try {
    await page.goto(studyUrl('/subjects'));
    await page.locator('#screen-title + form select[name=site]').selectOption('701');
    await page.getByRole('button', { name: 'Screen', exact: true }).click();
    const heading = page.getByRole('heading', { name: /^Subject 701-\d{4}$/ });
    await heading.waitFor();
    const wrong = (await heading.innerText()).replace('Subject ', '');
    assert.notEqual(wrong, SUBJECT, 'the next number');

    await page.getByRole('button', { name: 'Inactivate…' }).click();
    await giveReason(page, 'screened twice: the same patient as ' + SUBJECT);
    await page.locator('.notice').getByText('Inactivated: screened twice').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Enrol' }).count(), 0, 'nothing more to do with it');
    // Read only, as its forms are: no visit to start or mark missed, only its reactivation.
    assert.equal(await page.getByRole('button', { name: 'Start' }).count(), 0, 'no unscheduled visit to start');
    assert.equal(await page.locator('main table.grid button').count(), 0, 'no visit to mark missed');
    await page.getByRole('button', { name: 'Reactivate…' }).waitFor();

    await page.goto(studyUrl('/subjects?site=701'));
    await page.getByRole('link', { name: SUBJECT, exact: true }).waitFor();
    assert.equal(await page.getByRole('link', { name: wrong, exact: true }).count(), 0, 'hidden by default');
    await page.getByLabel('Show inactivated subjects').check();
    const row = page.locator('tbody tr', { has: page.getByRole('link', { name: wrong, exact: true }) });
    await row.locator('.badge.inactive').waitFor();

    await page.goto(studyUrl(`/subjects/${wrong}/audit`));
    const entry = page.locator('table.audit tbody tr', { hasText: 'subject.inactivated' });
    await entry.getByText('screened twice: the same patient as ' + SUBJECT).waitFor();
  } finally {
    await screenshot(page, 'subject-inactivated');
  }
});
