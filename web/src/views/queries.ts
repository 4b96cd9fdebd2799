// The query inbox: what the user's role has to act on first (sites: open
// queries to answer; monitors and data managers: answered ones to close).
import { html } from 'lit-html';
import { studyPath } from '../api';
import { formLink, formName, itemLabel, studyLink, subjectLink, visitName, type Context } from '../app';
import { QUERY_STATES, QUERY_STATE_MEANING, raisedByText } from '../query_states';
import { can } from '../roles';
import { showCodes } from '../codes';
import type { InboxQuery } from '../types';
import { errorBox, siteFilter } from '../ui';
import { ListPage } from './list';


export class QueriesView extends ListPage<InboxQuery> {
  private state: string;
  private subject: string;
  private site: string;

  constructor(ctx: Context, query: URLSearchParams) {
    super(ctx);
    // Each role's inbox opens on what it acts on.
    this.state = query.get('state') ?? (can.closeQuery(ctx.role) ? 'answered' : 'open');
    if (query.has('subject') && !query.has('state')) this.state = '';
    this.subject = query.get('subject') ?? '';
    this.site = query.get('site') ?? '';
    void this.load();
  }

  title(): string {
    return 'Queries';
  }

  protected source() {
    const q = new URLSearchParams({ limit: '1000' });
    if (this.state) q.set('state', this.state);
    if (this.subject) q.set('subject', this.subject);
    if (this.site) q.set('site', this.site);
    return { path: studyPath(this.ctx.study.id) + '/queries?' + q, field: 'queries' };
  }

  protected concerns(type: string): boolean {
    return type.startsWith('query.') || type === 'form.saved';
  }

  private set(field: 'state' | 'site' | 'subject', value: string): void {
    this[field] = value;
    const q = new URLSearchParams();
    q.set('state', this.state);
    if (this.site) q.set('site', this.site);
    if (this.subject) q.set('subject', this.subject);
    history.replaceState(null, '', studyLink(this.ctx, '/queries?' + q));
    void this.load();
  }

  template() {
    const ctx = this.ctx;
    return html`<h1>Queries</h1>
      <form class="filters" @submit=${(e: Event) => e.preventDefault()}>
        <label>State
          <select @change=${(e: Event) => this.set('state', (e.target as HTMLSelectElement).value)}>
            <option value="" ?selected=${!this.state}>Any</option>
            ${QUERY_STATES.map((s) => html`<option value=${s} ?selected=${s === this.state}>${s} (${QUERY_STATE_MEANING[s]})</option>`)}
          </select>
        </label>
        ${siteFilter(ctx.definition.sites, this.site, (site) => this.set('site', site))}
        <label>Subject
          <input .value=${this.subject} @change=${(e: Event) => this.set('subject', (e.target as HTMLInputElement).value.trim())} />
        </label>
      </form>
      ${errorBox(this.error)}
      ${!this.loaded
        ? html`<p>Loading…</p>`
        : html`<table class="data stack">
            <caption>${this.total} ${this.total === 1 ? 'query' : 'queries'}</caption>
            <thead>
              <tr><th scope="col">Subject</th><th scope="col">#</th><th scope="col">Where</th><th scope="col">Question</th>
                <th scope="col">Raised by</th><th scope="col">State</th><th scope="col">Age (days)</th></tr>
            </thead>
            <tbody>
              ${this.rows.map(
                (q) => html`<tr>
                  <td data-label="Subject"><a href=${subjectLink(ctx, q.subject)}>${q.subject}</a></td>
                  <td data-label="#">${q.query}</td>
                  <td data-label="Where"><a href=${formLink(ctx, q.subject, q.visit, q.form, '?query=' + q.query)}>${visitName(ctx, q.visit)} › ${formName(ctx, q.form)} › ${itemLabel(ctx, q.form, q.item)}</a></td>
                  <td data-label="Question">${q.message}</td>
                  <td data-label="Raised by">${raisedByText(q.raised_by, showCodes(ctx))}</td>
                  <td data-label="State"><span class="badge query-${q.state}">${q.state}</span></td>
                  <td data-label="Age (days)">${q.age_days}</td>
                </tr>`,
              )}
            </tbody>
          </table>`}`;
  }
}
