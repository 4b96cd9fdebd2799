// The audit trail page as a data manager uses it on the demo's first
// subject, whose months of history fill several pages: paging, filtering
// by who / what / when / why, the CSV export of the filtered trail and its
// printed (PDF) form; dates written one way (dd-MMM-yyyy) on every page;
// and the casebook as it stood, its visits in the schedule's order.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { endSuite, launchBrowser, screenshot, Server, studyUrl, userPage } from './harness.mjs';

const SUBJECT = '701-1001';
const DATE = /^\d{2}-(JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)-\d{4}$/;
const TIME = /^\d{2}-(JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)-\d{4} \d{2}:\d{2}:\d{2} UTC$/;
let server;
let browser;
const pages = [];

async function as(user) {
  const page = await userPage(browser, server, user);
  pages.push(page);
  return page;
}

before(async () => {
  server = await Server.start();
  browser = await launchBrowser();
});

after(() => endSuite(pages, browser, server));

const caption = (page) => page.locator('table.audit caption');
const column = async (page, n) => (await page.locator(`table.audit tbody tr td:nth-child(${n})`).allInnerTexts()).map((t) => t.trim());

test('the trail comes a page at a time, with the next and previous pages', async () => {
  const page = await as('dm.1');
  try {
    await page.goto(studyUrl(`/subjects/${SUBJECT}/audit`));
    await caption(page).getByText(/^Entries 1–\d+, more on the next page/).waitFor();
    const first = await page.locator('table.audit tbody tr').count();
    assert.ok(first >= 100 && first < 140, `one page of about 100 entries, not the whole trail (${first})`);
    const firstTime = (await column(page, 1))[0];
    await page.getByRole('button', { name: 'Next page ›' }).first().click();
    await caption(page).getByText(new RegExp(`^Entries ${first + 1}–`)).waitFor();
    assert.notEqual((await column(page, 1))[0], firstTime);
    // Later pages hold later entries: the trail reads oldest first.
    await page.getByRole('button', { name: '‹ Previous page' }).first().click();
    await caption(page).getByText(/^Entries 1–/).waitFor();
    assert.equal((await column(page, 1))[0], firstTime);
  } finally {
    await screenshot(page, 'audit-paging');
  }
});

test('the trail filters by what, who, when and why, and the filters stay in the address', async () => {
  const page = await as('dm.1');
  try {
    await page.goto(studyUrl(`/subjects/${SUBJECT}/audit`));
    await caption(page).waitFor();
    const filters = page.getByRole('form', { name: 'Filter the audit trail' });
    await filters.getByLabel('What happened').selectOption('sdv.verified');
    await filters.getByLabel('Who (user)').fill('cra.1');
    await filters.getByRole('button', { name: 'Filter', exact: true }).click();
    await page.waitForURL(/event=sdv\.verified/);
    assert.match(page.url(), /user=cra\.1/);
    await caption(page).getByText(/^Entries 1–/).waitFor();
    const what = await column(page, 3);
    assert.ok(what.length > 0, 'the monitor verified this subject');
    assert.deepEqual([...new Set(what)], ['sdv.verified']);
    assert.deepEqual([...new Set((await column(page, 2)).map((w) => w.split(' ')[0]))], ['cra.1']);

    // When: a day range typed as DD-MMM-YYYY; nothing before the study began.
    await filters.getByRole('button', { name: 'Clear filters' }).click();
    await caption(page).getByText(/^Entries 1–/).waitFor();
    await filters.getByLabel('To (UTC)').fill('01-JAN-2020');
    await filters.getByRole('button', { name: 'Filter', exact: true }).click();
    await caption(page).getByText('No entries match.').waitFor();
    assert.match(page.url(), /to=2020-01-01/);
    // A date typed in another format is refused with the format to use.
    await filters.getByLabel('To (UTC)').fill('01/02/2026');
    await filters.getByRole('button', { name: 'Filter', exact: true }).click();
    await page.getByText('is not a date: write it as DD-MMM-YYYY').waitFor();

    // Why, and a form and item: the demo's corrected weight.
    await filters.getByLabel('To (UTC)').fill('');
    await filters.locator('select[name=form]').selectOption('VS');
    await filters.locator('select[name=item]').selectOption('WEIGHT');
    await filters.getByLabel('Reason contains').fill('CORRECTED FROM SOURCE');
    await filters.getByRole('button', { name: 'Filter', exact: true }).click();
    await caption(page).getByText(/^Entries 1–/).waitFor();
    const where = await column(page, 4);
    assert.ok(where.length > 0);
    for (const w of where) assert.match(w, /Weight/);
    for (const r of await column(page, 7)) assert.match(r, /corrected from source/);
    assert.ok((await column(page, 6)).includes('81.4'), 'the corrected value');

    // The casebook as it stood is opened from any of the entries.
    await page.reload();
    await caption(page).getByText(/^Entries 1–/).waitFor();
    assert.equal(await filters.getByLabel('Reason contains').inputValue(), 'CORRECTED FROM SOURCE', 'the filters come back with the page');
  } finally {
    await screenshot(page, 'audit-filtered');
  }
});

test('the filtered trail is exported as CSV and prints as the filtered table alone', async () => {
  const page = await as('dm.1');
  try {
    await page.goto(studyUrl(`/subjects/${SUBJECT}/audit?event=query.opened`));
    await caption(page).getByText(/^Entries 1–/).waitFor();
    const shown = await page.locator('table.audit tbody tr').count();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export CSV' }).first().click(),
    ]);
    assert.equal(download.suggestedFilename(), `audit-CDISCPILOT01-${SUBJECT}.csv`);
    const lines = readFileSync(await download.path(), 'utf8').trimEnd().split('\r\n');
    // (A data manager is blinded: no sequence numbers, which count hidden events.)
    assert.equal(lines[0], 'time_utc,user,role,event,path,old_value,new_value,reason');
    assert.equal(lines.length - 1, shown, 'the export holds what the filter shows');
    for (const line of lines.slice(1)) assert.match(line, /^\d{4}-\d{2}-\d{2}T[^,]+,[^,]+,[^,]+,query\.opened,/);

    // Print (and so Save as PDF): the table and what it is, without the application around it.
    await page.emulateMedia({ media: 'print' });
    assert.equal(await page.locator('header.top').isVisible(), false);
    assert.equal(await page.getByRole('form', { name: 'Filter the audit trail' }).isVisible(), false);
    assert.equal(await page.getByRole('button', { name: 'Export CSV' }).first().isVisible(), false);
    const heading = page.locator('.print-only');
    assert.equal(await heading.isVisible(), true);
    assert.match(await heading.innerText(), new RegExp(`subject ${SUBJECT}\\. Filters: event query\\.opened\\.`));
    assert.equal(await page.locator('table.audit').isVisible(), true);
    await page.emulateMedia({ media: 'screen' });
  } finally {
    await screenshot(page, 'audit-export');
  }
});

test('dates read dd-MMM-yyyy on every page, partial dates with UN / UNK', async () => {
  const page = await as('coord.701');
  try {
    // The audit trail's times, and a partial date's values (medical history years).
    await page.goto(studyUrl(`/subjects/${SUBJECT}/audit?form=MH&item=MHSTDTC`));
    await caption(page).getByText(/^Entries 1–/).waitFor();
    for (const t of await column(page, 1)) assert.match(t, TIME);
    const values = (await column(page, 6)).filter((v) => v);
    assert.ok(values.length > 0);
    for (const v of values) assert.match(v, /^UN-UNK-\d{4}$/);
    // The casebook's planned and actual dates.
    await page.goto(studyUrl(`/subjects/${SUBJECT}`));
    const grid = page.locator('table.grid tbody');
    await grid.waitFor();
    const planned = (await grid.locator('tr td:nth-child(2)').allInnerTexts()).filter((t) => t.trim() !== '—');
    const actual = (await grid.locator('tr td:nth-child(3)').allInnerTexts()).filter((t) => t.trim() !== '—');
    assert.ok(planned.length > 3 && actual.length > 3);
    for (const d of [...planned, ...actual]) assert.match(d.trim(), DATE);
    // A date field shows the stored date the same way, and takes one typed so.
    await page.goto(studyUrl(`/subjects/${SUBJECT}/visits/SCREENING1/forms/SV`));
    const field = page.locator('#item-SVSTDTC');
    await field.waitFor();
    assert.match(await field.inputValue(), DATE);
    assert.equal(await field.getAttribute('type'), 'text', 'no locale date picker (03/05 or 05/03?)');
    assert.equal(await field.getAttribute('placeholder'), 'DD-MMM-YYYY');
    await page.goto(studyUrl(`/subjects/${SUBJECT}/visits/AEFU/forms/SV`));
    await field.waitFor();
    const checked = page.waitForResponse((r) => r.url().endsWith('/check') && (r.request().postData() ?? '').includes('"2026-03-05"'));
    await field.fill('5-mar-2026');
    await checked;  // sent to the server as the ISO date it stores
    await field.blur();
    assert.equal(await field.inputValue(), '05-MAR-2026');
  } finally {
    await screenshot(page, 'dates');
  }
});

test('the casebook as it stood lists its visits in the schedule order, not by their codes', async () => {
  const page = await as('dm.1');
  try {
    const definition = await page.evaluate(async () => (await fetch('/api/v1/studies/CDISCPILOT01')).json());
    const order = definition.visits.map((v) => v.id);
    // As the casebook stands now, from the trail's as-it-stood panel.
    await page.goto(studyUrl(`/subjects/${SUBJECT}/audit?as_of=${encodeURIComponent(new Date().toISOString().slice(0, 19) + 'Z')}`));
    const then = page.locator('section[aria-labelledby=as-of-title]');
    await then.locator('h3').first().waitFor();
    const visits = await then.locator('h3[data-visit]').evaluateAll((hs) => hs.map((h) => h.dataset.visit));
    const distinct = visits.filter((v, i) => visits.indexOf(v) === i);
    assert.ok(distinct.includes('SCREENING1') && distinct.includes('BASELINE') && distinct.includes('WEEK2'), distinct.join(' '));
    const positions = distinct.map((v) => order.indexOf(v.split('#')[0]));
    assert.deepEqual(positions, [...positions].sort((a, b) => a - b), `schedule order: ${distinct.join(' ')}`);
    assert.ok(distinct.indexOf('SCREENING1') < distinct.indexOf('BASELINE'));
    if (distinct.includes('WEEK10')) assert.ok(distinct.indexOf('WEEK2') < distinct.indexOf('WEEK10'));
    // The moment is shown, and typed, as dd-MMM-yyyy HH:MM:SS in UTC.
    assert.match(await then.getByLabel('Moment (UTC)').inputValue(), /^\d{2}-[A-Z]{3}-\d{4} \d{2}:\d{2}:\d{2}$/);
  } finally {
    await screenshot(page, 'as-it-stood-order');
  }
});
