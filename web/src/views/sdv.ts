// Source data verification by the study's plan, for monitors, data managers
// and the sponsor: what the plan asks for, the verified share by site and by
// subject (least verified first), and the worklist of forms still to verify,
// so that a monitor sees where the next visit should go. Site staff do not
// see it: knowing which subjects are in the sample would change how they
// are treated (the server refuses them too).
import { html, nothing, type TemplateResult } from 'lit-html';
import { get, studyPath } from '../api';
import { formLink, formName, LatestAnswer, LiveReload, studyLink, subjectLink, visitName, type Context, type View } from '../app';
import { errorBox, siteFilter } from '../ui';

interface Progress {
  site: string;
  subject?: string;
  subjects?: number;
  sampled: number | boolean;
  required: number;
  verified: number;
  risk?: string;
  percent?: number;
}

interface Overview {
  plan: { declared: boolean; always: string[]; percent_by_risk: Record<string, number>; default_risk: string };
  sites: Progress[];
  total: Progress;
}

interface Work {
  subject: string;
  site: string;
  visit: string;
  form: string;
  required: number;
  verified: number;
  open_queries: number;
}

interface Paged<T> {
  rows: T[];
  total: number;
  offset: number;
}

const SUBJECTS_PAGE = 20;
const WORK_PAGE = 50;

export function share(verified: number, required: number): string {
  if (required === 0) return 'nothing to verify';
  return `${verified} of ${required} (${Math.floor((100 * verified) / required)}%)`;
}

export class SdvView implements View {
  private site: string;
  private subject: string;
  private overview: Overview | null = null;
  private subjects: Paged<Progress> = { rows: [], total: 0, offset: 0 };
  private work: Paged<Work> = { rows: [], total: 0, offset: 0 };
  private error = '';
  private readonly reload = new LiveReload(() => void this.load());
  private readonly latest = new LatestAnswer();

  constructor(private readonly ctx: Context, query: URLSearchParams) {
    this.site = query.get('site') ?? '';
    this.subject = query.get('subject') ?? '';
    void this.load();
  }

  title(): string {
    return 'Source data verification';
  }

  private async load(): Promise<void> {
    const base = studyPath(this.ctx.study.id) + '/sdv';
    const site = this.site ? '&site=' + encodeURIComponent(this.site) : '';
    const current = this.latest.begin();
    try {
      const [overview, subjects, work] = await Promise.all([
        get<Overview>(base),
        get<{ subjects: Progress[]; total: number }>(`${base}/subjects?limit=${SUBJECTS_PAGE}&offset=${this.subjects.offset}${site}`),
        get<{ forms: Work[]; total: number }>(
          `${base}/worklist?limit=${WORK_PAGE}&offset=${this.work.offset}${site}` +
            (this.subject ? '&subject=' + encodeURIComponent(this.subject) : ''),
        ),
      ]);
      if (!current()) return;
      this.overview = overview;
      this.subjects = { rows: subjects.subjects, total: subjects.total, offset: this.subjects.offset };
      this.work = { rows: work.forms, total: work.total, offset: this.work.offset };
      this.error = '';
    } catch (e) {
      if (!current()) return;
      this.error = (e as Error).message;
    }
    this.ctx.update();
  }

  live(e: { type: string }): void {
    if (e.type !== 'sdv.verified' && e.type !== 'form.saved' && e.type !== 'row.removed') return;
    this.reload.changed();
  }

  dispose(): void {
    this.reload.dispose();
  }

  private setFilter(field: 'site' | 'subject', value: string): void {
    this[field] = value;
    this.subjects.offset = 0;
    this.work.offset = 0;
    const q = new URLSearchParams();
    if (this.site) q.set('site', this.site);
    if (this.subject) q.set('subject', this.subject);
    history.replaceState(null, '', studyLink(this.ctx, '/sdv' + (q.size ? '?' + q : '')));
    void this.load();
  }

  private siteName(id: string): string {
    return this.ctx.definition.sites.find((s) => s.id === id)?.name ?? id;
  }

  private planText(o: Overview): TemplateResult {
    if (!o.plan.declared) return html`<p>The study has no verification plan: every entered item is to be verified on every subject.</p>`;
    const always = o.plan.always.map((a) => {
      const [form, item] = a.split('.');
      return item ? `${formName(this.ctx, form)}: ${item}` : formName(this.ctx, form);
    });
    const shares = Object.entries(o.plan.percent_by_risk)
      .sort((a, b) => b[1] - a[1])
      .map(([risk, p]) => `${p}% of subjects at ${risk}-risk sites`);
    return html`<p>Verified on every subject: ${always.join(', ') || 'nothing'}. The rest is verified on ${shares.join(', ')},
      drawn from each subject's number so that the sample can be reproduced.</p>`;
  }

  private pager<T>(what: string, page: Paged<T>, size: number, move: (offset: number) => void): TemplateResult {
    if (page.total <= size) return html``;
    const last = Math.min(page.offset + size, page.total);
    return html`<div class="toolbar pager">
      <button type="button" ?disabled=${page.offset === 0} @click=${() => move(Math.max(0, page.offset - size))}>‹ Previous ${what}</button>
      <span>${page.offset + 1}–${last} of ${page.total}</span>
      <button type="button" ?disabled=${last >= page.total} @click=${() => move(page.offset + size)}>Next ${what} ›</button>
    </div>`;
  }

  template() {
    const ctx = this.ctx;
    const o = this.overview;
    return html`<h1>Source data verification</h1>
      ${errorBox(this.error)}
      ${!o
        ? this.error ? nothing : html`<p>Loading…</p>`
        : html`${this.planText(o)}
            <p class="sdv-total">All your sites: ${share(o.total.verified, o.total.required)} of the items the plan asks for are verified.</p>
            <table class="data sdv-sites">
              <caption>By site</caption>
              <thead><tr><th scope="col">Site</th><th scope="col">Subjects (in the sample)</th><th scope="col">Verified</th></tr></thead>
              <tbody>
                ${o.sites.map(
                  (s) => html`<tr data-site=${s.site}>
                    <td><button type="button" class="link" @click=${() => this.setFilter('site', s.site)}>${this.siteName(s.site)}</button>
                      ${s.risk ? html`<span class="muted small">${s.risk} risk, ${s.percent}%</span>` : nothing}</td>
                    <td>${s.subjects} (${s.sampled})</td>
                    <td>${share(s.verified, s.required)}</td>
                  </tr>`,
                )}
              </tbody>
            </table>`}
      <form class="filters" @submit=${(e: Event) => e.preventDefault()}>
        ${siteFilter(ctx.definition.sites, this.site, (site) => this.setFilter('site', site))}
        <label>Subject (forms to verify)
          <input name="subject" .value=${this.subject}
            @change=${(e: Event) => this.setFilter('subject', (e.target as HTMLInputElement).value.trim())} />
        </label>
      </form>
      <h2>Forms to verify</h2>
      <table class="data sdv-work">
        <caption>${this.work.total} ${this.work.total === 1 ? 'form' : 'forms'} with data the plan asks for not yet verified</caption>
        <thead><tr><th scope="col">Subject</th><th scope="col">Form</th><th scope="col">Verified</th><th scope="col">Open queries</th></tr></thead>
        <tbody>
          ${this.work.rows.map(
            (w) => html`<tr>
              <td><a href=${subjectLink(ctx, w.subject)}>${w.subject}</a></td>
              <td><a href=${formLink(ctx, w.subject, w.visit, w.form)}>${visitName(ctx, w.visit)} › ${formName(ctx, w.form)}</a></td>
              <td>${w.verified} of ${w.required}</td>
              <td>${w.open_queries ? html`${w.open_queries} <span class="muted small">(wait for the site)</span>` : '0'}</td>
            </tr>`,
          )}
        </tbody>
      </table>
      ${this.pager('forms', this.work, WORK_PAGE, (offset) => ((this.work.offset = offset), void this.load()))}
      <h2>Subjects, least verified first</h2>
      <table class="data sdv-subjects">
        <caption>${this.subjects.total} ${this.subjects.total === 1 ? 'subject' : 'subjects'}</caption>
        <thead><tr><th scope="col">Subject</th><th scope="col">In the sample</th><th scope="col">Verified</th></tr></thead>
        <tbody>
          ${this.subjects.rows.map(
            (s) => html`<tr>
              <td><a href=${subjectLink(ctx, s.subject ?? '')}>${s.subject}</a> <span class="muted small">${this.siteName(s.site)}</span></td>
              <td>${s.sampled ? 'yes' : 'no: the plan’s always-verified forms only'}</td>
              <td>${share(s.verified, s.required)}</td>
            </tr>`,
          )}
        </tbody>
      </table>
      ${this.pager('subjects', this.subjects, SUBJECTS_PAGE, (offset) => ((this.subjects.offset = offset), void this.load()))}`;
  }
}
