// Subjects of the sites the user may see, with filters and search, and the
// screening of a new subject.
import { html, nothing } from 'lit-html';
import { ApiError, post, studyPath } from '../api';
import { studyLink, subjectLink, type Context } from '../app';
import { can } from '../roles';
import type { CommandReply, SubjectRow } from '../types';
import { label } from '../format';
import { announce, errorBox, siteFilter } from '../ui';
import { ListPage } from './list';

const STATUSES = ['screening', 'enrolled', 'completed', 'withdrawn', 'screen_failed'];

export class SubjectsView extends ListPage<SubjectRow> {
  private screenError = '';
  private site: string;
  private status: string;
  private search: string;
  private withInactive: boolean;

  constructor(ctx: Context, query: URLSearchParams) {
    super(ctx);
    this.site = query.get('site') ?? '';
    this.status = query.get('status') ?? '';
    this.search = query.get('q') ?? '';
    this.withInactive = query.get('inactive') === 'include';
    void this.load();
  }

  title(): string {
    return 'Subjects';
  }

  protected source() {
    const q = new URLSearchParams({ limit: '1000' });
    if (this.site) q.set('site', this.site);
    if (this.status) q.set('status', this.status);
    if (this.withInactive) q.set('inactive', 'include');
    return { path: studyPath(this.ctx.study.id) + '/subjects?' + q, field: 'subjects' };
  }

  protected concerns(type: string): boolean {
    return type.startsWith('subject.') || type.startsWith('query.');
  }

  private filter(site: string, status: string, search: string, withInactive = this.withInactive): void {
    this.site = site;
    this.status = status;
    this.search = search;
    this.withInactive = withInactive;
    const q = new URLSearchParams();
    if (site) q.set('site', site);
    if (status) q.set('status', status);
    if (search) q.set('q', search);
    if (withInactive) q.set('inactive', 'include');
    history.replaceState(null, '', studyLink(this.ctx, '/subjects' + (q.toString() ? '?' + q : '')));
    void this.load();
  }

  private async screen(e: Event): Promise<void> {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    // The server numbers subjects when the study says so; otherwise the site types the number.
    const assigned = this.ctx.definition.subject_numbers_assigned;
    const typed = assigned ? '' : (form.elements.namedItem('subject') as HTMLInputElement).value.trim();
    const site = (form.elements.namedItem('site') as HTMLSelectElement).value;
    if (!assigned && !typed) {
      this.screenError = 'Enter the new subject’s number.';
      return this.ctx.update();
    }
    try {
      const r = await post<CommandReply<{ subject: string }>>(
        studyPath(this.ctx.study.id) + '/commands',
        assigned ? { op: 'subject.screen', site } : { op: 'subject.screen', subject: typed, site },
      );
      const subject = r.result?.subject ?? typed;
      announce('Subject ' + subject + ' screened');
      this.ctx.navigate(subjectLink(this.ctx, subject));
    } catch (err) {
      this.screenError = err instanceof ApiError ? err.message : String(err);
      this.ctx.update();
    }
  }

  template() {
    const ctx = this.ctx;
    const needle = this.search.toLowerCase();
    const shown = needle ? this.rows.filter((r) => r.id.toLowerCase().includes(needle)) : this.rows;
    const sites = ctx.definition.sites;
    return html`<h1>Subjects</h1>
      <form class="filters" role="search" @submit=${(e: Event) => e.preventDefault()}>
        ${siteFilter(sites, this.site, (site) => this.filter(site, this.status, this.search))}
        <label>Status
          <select name="status" @change=${(e: Event) => this.filter(this.site, (e.target as HTMLSelectElement).value, this.search)}>
            <option value="">Any</option>
            ${STATUSES.map((s) => html`<option value=${s} ?selected=${s === this.status}>${label(s)}</option>`)}
          </select>
        </label>
        <label>Search
          <input type="search" name="q" .value=${this.search} placeholder="Subject number"
            @input=${(e: Event) => this.filter(this.site, this.status, (e.target as HTMLInputElement).value)} />
        </label>
        <label class="toggle"><input type="checkbox" name="inactive" .checked=${this.withInactive}
          @change=${(e: Event) => this.filter(this.site, this.status, this.search, (e.target as HTMLInputElement).checked)} />
          Show inactivated subjects</label>
      </form>
      ${errorBox(this.error)}
      ${!this.loaded
        ? html`<p>Loading…</p>`
        : html`<table class="data stack" aria-describedby="subject-count">
            <caption id="subject-count">${shown.length} of ${this.total} subjects</caption>
            <thead><tr><th scope="col">Subject</th><th scope="col">Site</th><th scope="col">Status</th><th scope="col">Open queries</th><th scope="col">Answered queries</th></tr></thead>
            <tbody>
              ${shown.map(
                (r) => html`<tr>
                  <th scope="row"><a href=${subjectLink(ctx, r.id)}>${r.id}</a></th>
                  <td data-label="Site">${r.site}</td>
                  <td data-label="Status"><span class="badge status-${r.status}">${label(r.status)}</span>
                    ${r.inactive ? html`<span class="badge inactive">Inactivated</span>` : nothing}</td>
                  <td data-label="Open queries">${r.open_queries ? html`<a href=${studyLink(ctx, '/queries?state=open&subject=' + encodeURIComponent(r.id))}>${r.open_queries}</a>` : '0'}</td>
                  <td data-label="Answered queries">${r.answered_queries ? html`<a href=${studyLink(ctx, '/queries?state=answered&subject=' + encodeURIComponent(r.id))}>${r.answered_queries}</a>` : '0'}</td>
                </tr>`,
              )}
            </tbody>
          </table>`}
      ${can.manageSubjects(ctx.role) && !ctx.study.locked
        ? html`<section class="panel" aria-labelledby="screen-title">
            <h2 id="screen-title">Screen a new subject</h2>
            <form class="inline" @submit=${(e: Event) => void this.screen(e)}>
              ${ctx.definition.subject_numbers_assigned
                ? html`<p class="muted">The subject number is assigned when you screen: the site’s next number.</p>`
                : html`<label>Subject number <input name="subject" required pattern="[A-Za-z0-9\\-]+"
                    title="Letters, digits and '-', with at least one digit" /></label>`}
              <label>Site
                <select name="site">${sites.map((s) => html`<option value=${s.id}>${s.name}</option>`)}</select>
              </label>
              <button type="submit" class="primary">Screen</button>
            </form>
            ${errorBox(this.screenError)}
          </section>`
        : nothing}`;
  }
}
