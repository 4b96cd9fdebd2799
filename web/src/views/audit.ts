// The audit trail of a subject, a form or an item: who, when, what event,
// old value, new value, reason; and the casebook as it stood at any moment.
import { html, nothing, type TemplateResult } from 'lit-html';
import { get, subjectPath } from '../api';
import { formName, itemLabel, subjectLink, visitName, type Context, type View } from '../app';
import type { AuditEntry, Subject } from '../types';
import { label, showTime, showValue } from '../format';
import { errorBox } from '../ui';
import { valuesTable } from './form';
import { auditWho } from '../query_states';

export class AuditView implements View {
  private entries: AuditEntry[] = [];
  private error = '';
  private path: string;
  private asOf: string;
  private then: Subject | null = null;
  private thenError = '';
  private loaded = false;

  constructor(private readonly ctx: Context, private readonly subject: string, query: URLSearchParams) {
    this.path = query.get('path') ?? '';
    this.asOf = query.get('as_of') ?? '';
    void this.load();
    if (this.asOf) void this.loadAsOf(this.asOf);
  }

  title(): string {
    return 'Audit trail of ' + this.subject;
  }

  private async load(): Promise<void> {
    const q = this.path ? '?path=' + encodeURIComponent(this.path) : '';
    try {
      this.entries = (await get<{ entries: AuditEntry[] }>(subjectPath(this.ctx.study.id, this.subject) + '/audit' + q)).entries;
      this.error = '';
    } catch (e) {
      this.error = (e as Error).message;
    }
    this.loaded = true;
    this.ctx.update();
  }

  private async loadAsOf(when: string): Promise<void> {
    this.asOf = when;
    this.syncUrl();
    try {
      this.then = await get<Subject>(subjectPath(this.ctx.study.id, this.subject) + '?as_of=' + encodeURIComponent(when));
      this.thenError = '';
    } catch (e) {
      this.then = null;
      this.thenError = (e as Error).message;
    }
    this.ctx.update();
    document.getElementById('as-of-title')?.scrollIntoView({ block: 'start' });
  }

  private syncUrl(): void {
    const q = new URLSearchParams();
    if (this.path) q.set('path', this.path);
    if (this.asOf) q.set('as_of', this.asOf);
    history.replaceState(null, '', subjectLink(this.ctx, this.subject, '/audit' + (q.toString() ? '?' + q : '')));
  }

  // "subject/701-1001/WEEK2/VS/SYSBP" → "WEEK 2 › Vital signs › Systolic blood pressure"
  private where(path: string): string {
    const parts = path.split('/');
    if (parts[0] !== 'subject' || parts.length < 3) return path;
    const [, , visit, form, ...rest] = parts;
    const isVisit = this.ctx.definition.visits.some((v) => v.id === visit.split('#')[0]);
    if (!isVisit || !form) return isVisit ? visitName(this.ctx, visit) : parts.slice(2).join(' › ');
    const out = [visitName(this.ctx, visit), formName(this.ctx, form)];
    if (rest.length) {
      const item = rest[rest.length - 1] === 'verified' || rest[rest.length - 1] === 'not_done' ? rest[rest.length - 2] : rest[rest.length - 1];
      const suffix = rest[rest.length - 1] === 'verified' ? ' (verified)' : rest[rest.length - 1] === 'not_done' ? ' (not done)' : '';
      out.push(itemLabel(this.ctx, form, item) + suffix);
    }
    return out.join(' › ');
  }

  private asOfPanel(): TemplateResult {
    const submit = (e: Event) => {
      e.preventDefault();
      const v = ((e.target as HTMLFormElement).elements.namedItem('when') as HTMLInputElement).value;
      if (v) void this.loadAsOf(v.length === 16 ? v + ':00Z' : v.endsWith('Z') ? v : v + 'Z');
    };
    const [, , visit, form] = this.path.split('/');
    const def = form ? this.ctx.definition.forms.find((f) => f.id === form) : undefined;
    const then = this.then;
    let body: TemplateResult | typeof nothing = nothing;
    if (then) {
      const shown = def && visit
        ? [[visit, form] as const]
        : Object.entries(then.visits).flatMap(([v, vs]) => Object.keys(vs.forms).map((f) => [v, f] as const));
      body = html`${shown.map(([v, f]) => {
        const fd = this.ctx.definition.forms.find((x) => x.id === f);
        const fs = then.visits[v]?.forms[f];
        return html`<h3>${visitName(this.ctx, v)} › ${formName(this.ctx, f)}</h3>
          ${fd && fs ? valuesTable(fd, fs.items) : html`<p>No data yet at that moment.</p>`}`;
      })}`;
    }
    return html`<section class="panel" aria-labelledby="as-of-title">
      <h2 id="as-of-title">As it stood at a past moment</h2>
      <form class="inline" @submit=${submit}>
        <label>Moment (UTC) <input name="when" type="datetime-local" step="1" .value=${this.asOf.replace(/Z$/, '').slice(0, 19)} /></label>
        <button type="submit">Show</button>
      </form>
      ${errorBox(this.thenError)}
      ${then ? html`<p>Status then: <span class="badge">${label(then.status)}</span> (as of ${showTime(then.as_of ?? this.asOf)})</p>${body}` : nothing}
    </section>`;
  }

  template() {
    const ctx = this.ctx;
    const scope = this.path ? this.where(this.path) : 'the whole casebook';
    return html`<p class="crumbs"><a href=${subjectLink(ctx, this.subject)}>Subject ${this.subject}</a> › Audit trail</p>
      <h1>Audit trail: ${scope}</h1>
      ${this.path
        ? html`<p><a href=${subjectLink(ctx, this.subject, '/audit')} @click=${() => ((this.path = ''), void this.load())}>Show the whole casebook’s trail</a></p>`
        : nothing}
      ${errorBox(this.error)}
      ${!this.loaded
        ? html`<p>Loading…</p>`
        : html`<table class="data audit">
            <caption>${this.entries.length} entries, oldest first. Select a time to see the casebook as it stood then.</caption>
            <thead>
              <tr><th scope="col">When (UTC)</th><th scope="col">Who</th><th scope="col">What</th><th scope="col">Where</th>
                <th scope="col">Old value</th><th scope="col">New value</th><th scope="col">Reason</th></tr>
            </thead>
            <tbody>
              ${this.entries.map(
                (e) => html`<tr>
                  <td><button type="button" class="link" title="Show the casebook as it stood then"
                    @click=${() => void this.loadAsOf(e.time)}>${showTime(e.time)}</button></td>
                  <td>${auditWho(e)} <span class="muted">(${label(e.role)})</span></td>
                  <td>${e.event}</td>
                  <td>${this.where(e.path)}</td>
                  <td class="old">${showValue(e.old)}</td>
                  <td class="new">${showValue(e.new)}</td>
                  <td>${e.reason}</td>
                </tr>`,
              )}
            </tbody>
          </table>`}
      ${this.asOfPanel()}`;
  }
}
