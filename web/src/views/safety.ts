// The safety inbox: cases that serious adverse events opened, most urgent
// first, each with its reporting clocks (the server counts the days at its
// own clock and the sponsor's offset; doc/api.md, "Safety cases").
import { html, nothing } from 'lit-html';
import { postText, studyPath } from '../api';
import { formLink, studyLink, subjectLink, visitName, type Context } from '../app';
import { daysLeftText, urgency } from '../safety_clock';
import { stageText } from '../safety_case';
import type { E2bImportReply, SafetyCase } from '../types';
import { errorBox, siteFilter } from '../ui';
import { ListPage } from './list';

export const CRITERIA: Record<string, string> = {
  death: 'death',
  life_threatening: 'life-threatening',
  hospitalisation: 'hospitalisation',
  disability: 'disability',
  congenital_anomaly: 'congenital anomaly',
  other_medically_important: 'medically important',
};

// Where a case came from (doc/safety_cases.md).
export const SOURCES: Record<string, string> = {
  crf: 'the CRF',
  spontaneous: 'spontaneous report',
  literature: 'literature report',
  e2b: 'E2B(R3) report imported',
};

const STATES: Record<string, string> = { open: 'open', nullification_proposed: 'nullification proposed', closed: 'closed' };

export class SafetyView extends ListPage<SafetyCase> {
  private state: string;
  private site: string;
  private counts = { open: 0, due_within_3_days: 0, overdue: 0, late: 0 };
  private imported: E2bImportReply | null = null;
  private importError = '';
  private importing = false;

  constructor(ctx: Context, query: URLSearchParams) {
    super(ctx);
    this.state = query.get('state') ?? 'open';
    this.site = query.get('site') ?? '';
    void this.load();
  }

  title(): string {
    return 'Safety cases';
  }

  protected source() {
    const q = new URLSearchParams();
    if (this.state) q.set('state', this.state);
    if (this.site) q.set('site', this.site);
    return { path: studyPath(this.ctx.study.id) + '/safety/cases?' + q, field: 'cases' };
  }

  protected override received(reply: Record<string, unknown>): void {
    this.counts = {
      open: Number(reply.open ?? 0),
      due_within_3_days: Number(reply.due_within_3_days ?? 0),
      overdue: Number(reply.overdue ?? 0),
      late: Number(reply.late ?? 0),
    };
  }

  protected concerns(type: string): boolean {
    return type.startsWith('safety.') || type === 'form.saved' || type === 'row.removed';
  }

  private set(field: 'state' | 'site', value: string): void {
    this[field] = value;
    const q = new URLSearchParams();
    q.set('state', this.state);
    if (this.site) q.set('site', this.site);
    history.replaceState(null, '', studyLink(this.ctx, '/safety?' + q));
    void this.load();
  }

  // E2B(R3) reports from a partner or a regulator's database: the file as
  // it came; each report becomes a case (or new information on one).
  private async importReports(e: Event): Promise<void> {
    e.preventDefault();
    const input = (e.target as HTMLFormElement).elements.namedItem('e2b') as HTMLInputElement;
    const file = input.files?.[0];
    if (!file) {
      this.importError = 'Choose the E2B(R3) file to import.';
      return this.ctx.update();
    }
    this.importing = true;
    this.ctx.update();
    try {
      const path = studyPath(this.ctx.study.id) + '/safety/imports?file=' + encodeURIComponent(file.name);
      this.imported = await postText<E2bImportReply>(path, await file.text(), 'application/xml');
      this.importError = '';
      input.value = '';
      await this.load();
    } catch (err) {
      this.imported = null;
      this.importError = (err as Error).message;
    }
    this.importing = false;
    this.ctx.update();
  }

  private intake() {
    const ctx = this.ctx;
    if (ctx.role !== 'safety_physician') return nothing;
    const done = this.imported;
    return html`<section class="panel intake-links" aria-labelledby="intake-title">
      <h2 id="intake-title">Reports from outside the CRF</h2>
      <p><a class="button" href=${studyLink(ctx, '/safety/new')}>Enter a spontaneous or literature report</a></p>
      <form class="inline" @submit=${(e: Event) => void this.importReports(e)}>
        <label>E2B(R3) reports (XML) <input type="file" name="e2b" accept=".xml,application/xml,text/xml" /></label>
        <button type="submit" ?disabled=${this.importing}>Import E2B(R3) reports</button>
      </form>
      ${errorBox(this.importError)}
      ${done
        ? html`<p class="ok-box" role="status" data-testid="imported">${done.file} imported:
            ${done.cases.length === 1 ? 'case' : 'cases'}
            ${done.cases.map((id, i) => html`${i ? ', ' : ''}<a href=${studyLink(ctx, '/safety/cases/' + encodeURIComponent(id))}>${id}</a>`)}
            (a report of a case imported before is its new information).</p>`
        : nothing}
    </section>`;
  }

  template() {
    const ctx = this.ctx;
    const c = this.counts;
    return html`<h1>Safety cases</h1>
      <p><a href=${studyLink(ctx, '/safety/outputs')}>Line listing, DSUR tabulation and signal detection</a></p>
      ${this.intake()}
      <p class="summary" data-testid="safety-counts">
        ${c.open} open · <span class=${c.due_within_3_days ? 'due-soon' : ''}>${c.due_within_3_days} due within 3 days</span> ·
        <span class=${c.overdue ? 'overdue' : ''}>${c.overdue} overdue</span> ·
        <span class=${c.late ? 'overdue' : ''}>${c.late} ${c.late === 1 ? 'report' : 'reports'} sent late</span>
      </p>
      <p class="hint">Until its medical review, every serious case counts on the shortest clock it could need (an
        unexpected, related reaction); day 0 is the day the site saved it.</p>
      <form class="filters" @submit=${(e: Event) => e.preventDefault()}>
        <label>State
          <select name="state" @change=${(e: Event) => this.set('state', (e.target as HTMLSelectElement).value)}>
            <option value="" ?selected=${!this.state}>Any</option>
            ${Object.entries(STATES).map(([s, label]) => html`<option value=${s} ?selected=${s === this.state}>${label}</option>`)}
          </select>
        </label>
        ${siteFilter(ctx.definition.sites, this.site, (site) => this.set('site', site))}
      </form>
      ${errorBox(this.error)}
      ${!this.loaded
        ? html`<p>Loading…</p>`
        : html`<table class="data stack safety-cases">
            <caption>${this.total} ${this.total === 1 ? 'case' : 'cases'}, the most urgent first</caption>
            <thead>
              <tr><th scope="col">Case</th><th scope="col">Subject</th><th scope="col">Event</th><th scope="col">MedDRA</th><th scope="col">Seriousness</th>
                <th scope="col">Day 0</th><th scope="col">Reports due</th><th scope="col">Days left</th><th scope="col">Stage</th></tr>
            </thead>
            <tbody>
              ${this.rows.map(
                (k) => html`<tr data-case=${k.case}>
                  <td data-label="Case"><a href=${studyLink(ctx, '/safety/cases/' + encodeURIComponent(k.case))}>${k.case}</a></td>
                  ${k.subject
                    ? html`<td data-label="Subject"><a href=${subjectLink(ctx, k.subject)}>${k.subject}</a></td>
                  <td data-label="Event"><a href=${formLink(ctx, k.subject, k.visit, k.form)}>${k.term || '(no term yet)'}</a>
                    <span class="where">${visitName(ctx, k.visit)}, row ${k.row}</span></td>`
                    : html`<td data-label="Subject"><span class="where">${SOURCES[k.source] ?? k.source}</span></td>
                  <td data-label="Event">${k.term || '(no term yet)'}</td>`}
                  <td data-label="MedDRA">${k.coding ? html`${k.coding.pt}<span class="where">${k.coding.soc}</span>` : html`<span class="where">not coded</span>`}</td>
                  <td data-label="Seriousness">${k.criteria.map((x) => CRITERIA[x] ?? x).join(', ') || (k.serious ? 'serious' : 'no longer serious')}</td>
                  <td data-label="Day 0">${k.day0}</td>
                  <td data-label="Reports due">${k.reports.length
                    ? k.reports.map((r) => html`<div title=${r.rule}>${r.destination}: ${r.due} (${r.days} days)${r.submitted
                        ? html` <span class=${r.late ? 'overdue' : 'where'}>sent${r.late ? ' late' : ''}</span>` : nothing}</div>`)
                    : nothing}</td>
                  <td data-label="Days left" class=${urgency(k.days_left)}>${k.days_left === undefined ? '' : daysLeftText(k.days_left)}</td>
                  <td data-label="Stage">${stageText(k.stage)}${k.state !== 'open' ? html`<div class="where">${STATES[k.state] ?? k.state}</div>` : nothing}
                    ${k.assessment.status === 'pending' ? html`<div class="where">assessment pending</div>` : nothing}</td>
                </tr>`,
              )}
            </tbody>
          </table>`}`;
  }
}
