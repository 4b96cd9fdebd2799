// The data manager's listings and reports, over the sites the user sees:
// a form's values across subjects (filtered, by one item's value too, a page
// at a time, or as CSV; coded values as their labels unless codes are shown),
// missing pages (forms of visits that happened, or are overdue, not
// started), data entry lag and query turnaround by site. Source data
// verification has its own page (views/sdv.ts).
import { html, nothing, type TemplateResult } from 'lit-html';
import { downloadFile, get, studyPath } from '../api';
import { formLink, formName, LatestAnswer, studyLink, subjectLink, visitName, type Context, type View } from '../app';
import { showCodes } from '../codes';
import { showItemValue } from '../format';
import type { ItemDef, JsonValue } from '../types';
import { errorBox, siteFilter } from '../ui';

interface ListingRow {
  subject: string;
  site: string;
  visit: string;
  group?: string;
  row?: number;
  items: Record<string, JsonValue>;
}

interface MissingLine {
  site: string;
  visit: string;
  forms: number;
}

interface LagLine {
  site: string;
  forms: number;
  days_total: number;
  within_2_days: number;
  over_7_days: number;
  max_days: number;
}

interface TurnaroundLine {
  site: string;
  opened: number;
  answered: number;
  mean_hours_to_answer: number;
  closed: number;
  mean_hours_to_close: number;
  unresolved_over_30_days: number;
}

const REPORTS = ['listing', 'missing', 'lag', 'queries'] as const;
type Report = (typeof REPORTS)[number];
const REPORT_NAMES: Record<Report, string> = {
  listing: 'Listing of a form',
  missing: 'Missing pages',
  lag: 'Data entry lag',
  queries: 'Query turnaround',
};
const PAGE = 50;
// The server filters by items that hold one value (doc/api.md).
const UNFILTERABLE = ['multi_choice', 'attachment'];

export class ReportsView implements View {
  private report: Report;
  private form: string;
  private site: string;
  private visit: string;
  private subject: string;
  private item: string;
  private value: string;
  private offset = 0;
  private total = 0;
  private listing: ListingRow[] = [];
  private missing: MissingLine[] = [];
  private lag: LagLine[] = [];
  private turnaround: TurnaroundLine[] = [];
  private error = '';
  private loaded = false;
  private readonly latest = new LatestAnswer();

  constructor(private readonly ctx: Context, query: URLSearchParams) {
    const wanted = query.get('report') as Report | null;
    this.report = wanted && REPORTS.includes(wanted) ? wanted : 'listing';
    this.form = query.get('form') ?? ctx.definition.forms[0]?.id ?? '';
    this.site = query.get('site') ?? '';
    this.visit = query.get('visit') ?? '';
    this.subject = query.get('subject') ?? '';
    this.item = query.get('item') ?? '';
    this.value = query.get('value') ?? '';
    void this.load();
  }

  title(): string {
    return 'Listings and reports';
  }

  private filters(): URLSearchParams {
    const q = new URLSearchParams();
    if (this.report === 'listing') q.set('form', this.form);
    if (this.site) q.set('site', this.site);
    if (this.report === 'listing' && this.visit) q.set('visit', this.visit);
    if (this.report === 'listing' && this.subject) q.set('subject', this.subject);
    // An item chosen without a value filters nothing yet.
    if (this.report === 'listing' && this.item && this.value) {
      q.set('item', this.item);
      q.set('value', this.value);
    }
    return q;
  }

  private async load(): Promise<void> {
    const base = studyPath(this.ctx.study.id) + '/reports/';
    const q = this.filters();
    const current = this.latest.begin();
    try {
      if (this.report === 'listing') {
        q.set('offset', String(this.offset));
        q.set('limit', String(PAGE));
        if (!showCodes(this.ctx)) q.set('labels', 'true');
        const r = await get<{ rows: ListingRow[]; total: number }>(base + 'listing?' + q);
        if (!current()) return;
        this.listing = r.rows;
        this.total = r.total;
      } else if (this.report === 'missing') {
        const r = await get<{ lines: MissingLine[] }>(base + 'missing-pages?' + q);
        if (!current()) return;
        this.missing = r.lines;
      } else if (this.report === 'lag') {
        const r = await get<{ sites: LagLine[] }>(base + 'entry-lag?' + q);
        if (!current()) return;
        this.lag = r.sites;
      } else {
        const r = await get<{ sites: TurnaroundLine[] }>(base + 'query-turnaround?' + q);
        if (!current()) return;
        this.turnaround = r.sites;
      }
      this.error = '';
    } catch (e) {
      if (!current()) return;
      this.error = (e as Error).message;
    }
    this.loaded = true;
    this.ctx.update();
  }

  private set(field: 'report' | 'form' | 'site' | 'visit' | 'subject' | 'item' | 'value', value: string): void {
    if (field === 'report') this.report = value as Report;
    else this[field] = value;
    // Another form has other items; another item other values.
    if (field === 'form') this.item = '';
    if (field === 'form' || field === 'item') this.value = '';
    if (field === 'item') this.value = this.values()?.[0]?.code ?? '';
    this.offset = 0;
    const q = this.filters();
    q.set('report', this.report);
    history.replaceState(null, '', studyLink(this.ctx, '/reports?' + q));
    void this.load();
  }

  private siteName(id: string): string {
    return this.ctx.definition.sites.find((s) => s.id === id)?.name ?? id;
  }

  // The CSV of the whole filtered listing, asked for in the acting role:
  // item ids head its columns either way; values are codes or labels.
  private async download(labels: boolean): Promise<void> {
    const q = this.filters();
    q.set('format', 'csv');
    if (labels) q.set('labels', 'true');
    try {
      await downloadFile(studyPath(this.ctx.study.id) + '/reports/listing?' + q,
        `listing-${this.ctx.study.id}-${this.form}${labels ? '-labels' : ''}.csv`);
    } catch (e) {
      this.error = (e as Error).message;
      this.ctx.update();
    }
  }


  private items(): ItemDef[] {
    const def = this.ctx.definition.forms.find((f) => f.id === this.form);
    return (def?.groups ?? []).flatMap((g) => g.items);
  }

  // The values the chosen item may be filtered by, when it has a fixed set
  // (codes with their labels, yes or no); undefined: typed in.
  private values(): { code: string; label: string }[] | undefined {
    const item = this.items().find((i) => i.id === this.item);
    if (item?.type === 'choice') return this.ctx.definition.codelists[item.codelist] ?? [];
    if (item?.type === 'boolean') return [{ code: 'true', label: 'Yes' }, { code: 'false', label: 'No' }];
    return undefined;
  }

  private valueFilter(): TemplateResult {
    const items = this.items().filter((i) => !UNFILTERABLE.includes(i.type));
    const values = this.values();
    const pick = (field: 'item' | 'value') => (e: Event) => this.set(field, (e.target as HTMLSelectElement | HTMLInputElement).value.trim());
    return html`<label>Filter by item
        <select name="item" @change=${pick('item')}>
          <option value="">No filter</option>
          ${items.map((i) => html`<option value=${i.id} ?selected=${i.id === this.item}>${i.label}</option>`)}
        </select>
      </label>
      ${!this.item
        ? nothing
        : values
          ? html`<label>Value
              <select name="value" @change=${pick('value')}>
                ${values.map((v) => html`<option value=${v.code} ?selected=${v.code === this.value}>${v.label}</option>`)}
              </select>
            </label>`
          : html`<label>Value <input name="value" .value=${this.value} @change=${pick('value')} /></label>`}`;
  }

  private listingTable(): TemplateResult {
    const ctx = this.ctx;
    const items = this.items();
    const repeating = this.listing.some((r) => r.row !== undefined);
    const last = Math.min(this.offset + PAGE, this.total);
    return html`<div class="toolbar pager">
        <button type="button" ?disabled=${this.offset === 0} @click=${() => ((this.offset = Math.max(0, this.offset - PAGE)), void this.load())}>‹ Previous page</button>
        <span>${this.total ? `${this.offset + 1}–${last} of ${this.total}` : 'no rows'}</span>
        <button type="button" ?disabled=${last >= this.total} @click=${() => ((this.offset += PAGE), void this.load())}>Next page ›</button>
        <span class="spacer"></span>
        <button type="button" @click=${() => void this.download(false)}>Download CSV</button>
        <button type="button" @click=${() => void this.download(true)}>Download CSV with labels</button>
      </div>
      <div class="listing-scroll" role="region" aria-label="Listing of ${formName(ctx, this.form)}" tabindex="0">
        <table class="data listing">
          <caption>${formName(ctx, this.form)}: ${this.total} ${this.total === 1 ? 'form' : 'forms'}${repeating ? ', a line per row' : ''}</caption>
          <thead><tr><th scope="col">Subject</th><th scope="col">Visit</th>${repeating ? html`<th scope="col">Row</th>` : nothing}
            ${items.map((i) => html`<th scope="col">${i.label}</th>`)}</tr></thead>
          <tbody>
            ${this.listing.map(
              (r) => html`<tr>
                <td><a href=${subjectLink(ctx, r.subject)}>${r.subject}</a></td>
                <td><a href=${formLink(ctx, r.subject, r.visit, this.form)}>${visitName(ctx, r.visit)}</a></td>
                ${repeating ? html`<td>${r.row ?? ''}</td>` : nothing}
                ${items.map((i) => html`<td>${i.id in r.items ? showItemValue(i.type, r.items[i.id]) : ''}</td>`)}
              </tr>`,
            )}
          </tbody>
        </table>
      </div>`;
  }

  private body(): TemplateResult | typeof nothing {
    if (!this.loaded) return html`<p>Loading…</p>`;
    if (this.error) return nothing;
    switch (this.report) {
      case 'listing':
        return this.listingTable();
      case 'missing':
        return html`<table class="data missing-pages">
          <caption>Forms not started at visits that took place or are overdue</caption>
          <thead><tr><th scope="col">Site</th><th scope="col">Visit</th><th scope="col">Forms not started</th></tr></thead>
          <tbody>${this.missing.map(
            (m) => html`<tr><td>${this.siteName(m.site)}</td><td>${visitName(this.ctx, m.visit)}</td><td>${m.forms}</td></tr>`,
          )}</tbody>
        </table>`;
      case 'lag':
        return html`<table class="data entry-lag">
          <caption>Days from the visit to the first save of each of its forms</caption>
          <thead><tr><th scope="col">Site</th><th scope="col">Forms</th><th scope="col">Mean days</th>
            <th scope="col">Within 2 days</th><th scope="col">Over 7 days</th><th scope="col">Longest</th></tr></thead>
          <tbody>${this.lag.map(
            (l) => html`<tr data-site=${l.site}><td>${this.siteName(l.site)}</td><td>${l.forms}</td><td>${l.forms ? (l.days_total / l.forms).toFixed(1) : '–'}</td>
              <td>${l.within_2_days}</td><td>${l.over_7_days}</td><td>${l.max_days}</td></tr>`,
          )}</tbody>
        </table>`;
      case 'queries':
        return html`<table class="data query-turnaround">
          <caption>Queries raised, and days until the site answered and until they were closed</caption>
          <thead><tr><th scope="col">Site</th><th scope="col">Raised</th><th scope="col">Answered (mean days)</th>
            <th scope="col">Closed (mean days)</th><th scope="col">Unresolved over 30 days</th></tr></thead>
          <tbody>${this.turnaround.map(
            (t) => html`<tr data-site=${t.site}><td>${this.siteName(t.site)}</td><td>${t.opened}</td>
              <td>${t.answered} (${(t.mean_hours_to_answer / 24).toFixed(1)})</td><td>${t.closed} (${(t.mean_hours_to_close / 24).toFixed(1)})</td>
              <td>${t.unresolved_over_30_days}</td></tr>`,
          )}</tbody>
        </table>`;
    }
  }

  template() {
    const ctx = this.ctx;
    return html`<h1>Listings and reports</h1>
      <form class="filters" @submit=${(e: Event) => e.preventDefault()}>
        <label>Report
          <select name="report" @change=${(e: Event) => this.set('report', (e.target as HTMLSelectElement).value)}>
            ${REPORTS.map((r) => html`<option value=${r} ?selected=${r === this.report}>${REPORT_NAMES[r]}</option>`)}
          </select>
        </label>
        ${this.report === 'listing'
          ? html`<label>Form
              <select name="form" @change=${(e: Event) => this.set('form', (e.target as HTMLSelectElement).value)}>
                ${ctx.definition.forms.map((f) => html`<option value=${f.id} ?selected=${f.id === this.form}>${f.name}</option>`)}
              </select>
            </label>`
          : nothing}
        ${siteFilter(ctx.definition.sites, this.site, (site) => this.set('site', site))}
        ${this.report === 'listing'
          ? html`<label>Visit
                <select name="visit" @change=${(e: Event) => this.set('visit', (e.target as HTMLSelectElement).value)}>
                  <option value="">Every visit</option>
                  ${ctx.definition.visits
                    .filter((v) => v.forms.includes(this.form))
                    .map((v) => html`<option value=${v.id} ?selected=${v.id === this.visit}>${v.name}</option>`)}
                </select>
              </label>
              <label>Subject
                <input name="subject" .value=${this.subject} @change=${(e: Event) => this.set('subject', (e.target as HTMLInputElement).value.trim())} />
              </label>
              ${this.valueFilter()}`
          : nothing}
      </form>
      <p class="muted">Source data verification progress is on the <a href=${studyLink(ctx, '/sdv')}>verification page</a>.</p>
      ${errorBox(this.error)} ${this.body()}`;
  }
}
