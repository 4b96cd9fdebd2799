// The audit trail of a subject, a form or an item: who, when, what event,
// old value, new value, reason; filtered by who, what, when and why, a page
// at a time (the server pages, doc/api.md), exported as CSV or printed
// (print-to-PDF) as filtered; and the casebook as it stood at any moment.
import { html, nothing, type TemplateResult } from 'lit-html';
import { get, subjectPath } from '../api';
import { formName, formsInOrder, inScheduleOrder, itemLabel, LatestAnswer, subjectLink, visitName, type Context, type View } from '../app';
import { downloadAuditCsv, readAuditPage } from '../audit_trail';
import type { AuditEntry, Subject } from '../types';
import { label, parseDateInput, parseDateTimeInput, showDate, showItemValue, showTime, showValue } from '../format';
import { errorBox } from '../ui';
import { valuesTable } from './form';
import { auditWho } from '../query_states';
import { showCodes } from '../codes';

// The filters, as the URL and the API name them.
const FILTERS = ['user', 'event', 'visit', 'form', 'item', 'from', 'to', 'reason'] as const;
type Filter = (typeof FILTERS)[number];

// The event types a subject's trail holds.
const EVENT_TYPES = [
  'subject.screened', 'subject.enrolled', 'subject.screen_failed', 'subject.withdrawn', 'subject.completed',
  'form.saved', 'row.removed', 'visit.missed', 'query.opened', 'query.answered', 'query.closed', 'query.cancelled',
  'query.reopened', 'sdv.verified', 'signature.applied', 'signature.invalidated', 'form.frozen', 'form.unfrozen',
  'form.locked', 'form.unlocked', 'subject.frozen', 'subject.unfrozen', 'subject.locked', 'subject.unlocked',
  'subject.migrated',
];

const PAGE_SIZES = [50, 100, 250, 500];

export class AuditView implements View {
  private entries: AuditEntry[] = [];
  private error = '';
  private filterError = '';
  private path: string;
  private filters: Partial<Record<Filter, string>> = {};
  private pageSize = 100;
  // The pages before this one (their cursors and first entries' numbers), this one's cursor, the next one's.
  private before: { after: string; first: number }[] = [];
  private after = '';
  private next: string | undefined;
  private first = 1;
  private asOf: string;
  private then: Subject | null = null;
  private thenError = '';
  private loaded = false;
  private readonly latest = new LatestAnswer();

  constructor(private readonly ctx: Context, private readonly subject: string, query: URLSearchParams) {
    this.path = query.get('path') ?? '';
    this.asOf = query.get('as_of') ?? '';
    for (const f of FILTERS) {
      const v = query.get(f);
      if (v) this.filters[f] = v;
    }
    const size = Number(query.get('limit'));
    if (PAGE_SIZES.includes(size)) this.pageSize = size;
    void this.load();
    if (this.asOf) void this.loadAsOf(this.asOf);
  }

  title(): string {
    return 'Audit trail of ' + this.subject;
  }

  // The filters and path as the API takes them (the page aside).
  private params(): URLSearchParams {
    const q = new URLSearchParams();
    if (this.path) q.set('path', this.path);
    for (const f of FILTERS) if (this.filters[f]) q.set(f, this.filters[f]!);
    return q;
  }

  private async load(): Promise<void> {
    const q = this.params();
    q.set('limit', String(this.pageSize));
    if (this.after) q.set('after', this.after);
    const current = this.latest.begin();
    try {
      const page = await readAuditPage(this.ctx.study.id, this.subject, q);
      if (!current()) return;
      this.entries = page.entries;
      this.next = page.next;
      this.error = '';
    } catch (e) {
      if (!current()) return;
      this.entries = [];
      this.next = undefined;
      this.error = (e as Error).message;
    }
    this.loaded = true;
    this.syncUrl();
    this.ctx.update();
  }

  private async page(direction: 1 | -1): Promise<void> {
    if (direction === 1 && this.next) {
      this.before.push({ after: this.after, first: this.first });
      this.after = this.next;
      this.first += this.entries.length;
    } else if (direction === -1 && this.before.length) {
      ({ after: this.after, first: this.first } = this.before.pop()!);
    } else {
      return;
    }
    await this.load();
  }

  private restart(): void {
    this.before = [];
    this.after = '';
    this.first = 1;
    void this.load();
  }

  private applyFilters(e: Event): void {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const value = (name: string) => ((form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement | null)?.value ?? '').trim();
    const next: Partial<Record<Filter, string>> = {};
    for (const f of ['user', 'event', 'visit', 'form', 'item', 'reason'] as const) if (value(f)) next[f] = value(f);
    for (const f of ['from', 'to'] as const) {
      if (!value(f)) continue;
      const iso = parseDateInput(value(f));
      if (!iso) {
        this.filterError = `“${value(f)}” is not a date: write it as DD-MMM-YYYY, for example 05-MAR-2026.`;
        this.ctx.update();
        return;
      }
      next[f] = iso;
    }
    if (next.from && next.to && next.from > next.to) {
      this.filterError = 'The “from” date lies after the “to” date.';
      this.ctx.update();
      return;
    }
    const size = Number(value('limit'));
    if (PAGE_SIZES.includes(size)) this.pageSize = size;
    this.filterError = '';
    this.filters = next;
    this.restart();
  }

  private clearFilters(): void {
    this.filters = {};
    this.filterError = '';
    this.restart();
  }

  private async exportCsv(): Promise<void> {
    try {
      await downloadAuditCsv(this.ctx.study.id, this.subject, this.params());
    } catch (e) {
      this.error = (e as Error).message;
      this.ctx.update();
    }
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
    const q = this.params();
    if (this.pageSize !== 100) q.set('limit', String(this.pageSize));
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
      const item = this.itemOf(path);
      const suffix = rest[rest.length - 1] === 'verified' ? ' (verified)' : rest[rest.length - 1] === 'not_done' ? ' (not done)' : '';
      if (item) out.push(itemLabel(this.ctx, form, item) + suffix);
    }
    return out.join(' › ');
  }

  // The item an entry's path names, if it names one.
  private itemOf(path: string): string | undefined {
    const rest = path.split('/').slice(4);
    if (!rest.length) return undefined;
    const last = rest[rest.length - 1];
    return last === 'verified' || last === 'not_done' ? rest[rest.length - 2] : last;
  }

  // An old or new value as the page shows it: dates in the one format.
  private value(path: string, v: AuditEntry['old']): string {
    const parts = path.split('/');
    const last = parts[parts.length - 1];
    if (last === 'verified' || last === 'not_done' || parts.length < 5) return showValue(v);
    const form = this.ctx.definition.forms.find((f) => f.id === parts[3]);
    const item = form?.groups.flatMap((g) => g.items).find((i) => i.id === last);
    return showItemValue(item?.type, v);
  }

  private filterForm(): TemplateResult {
    const ctx = this.ctx;
    const f = this.filters;
    const visits = inScheduleOrder(ctx, ctx.definition.visits.map((v) => v.id));
    const formDef = f.form ? ctx.definition.forms.find((x) => x.id === f.form) : undefined;
    const items = formDef ? formDef.groups.flatMap((g) => g.items) : [];
    const any = FILTERS.some((k) => f[k]);
    return html`<form class="filters no-print" aria-label="Filter the audit trail" @submit=${(e: Event) => this.applyFilters(e)}>
      <label>Who (user) <input name="user" .value=${f.user ?? ''} size="12" autocomplete="off" /></label>
      <label>What happened
        <select name="event" .value=${f.event ?? ''}>
          <option value="" ?selected=${!f.event}>any event</option>
          ${EVENT_TYPES.map((t) => html`<option value=${t} ?selected=${f.event === t}>${t}</option>`)}
        </select>
      </label>
      <label>Visit
        <select name="visit" .value=${f.visit ?? ''}>
          <option value="" ?selected=${!f.visit}>any visit</option>
          ${visits.map((v) => html`<option value=${v} ?selected=${f.visit === v}>${visitName(ctx, v)}</option>`)}
        </select>
      </label>
      <label>Form
        <select name="form" .value=${f.form ?? ''} @change=${(e: Event) => {
          this.filters = { ...this.filters, form: (e.target as HTMLSelectElement).value || undefined, item: undefined };
          ctx.update();
        }}>
          <option value="" ?selected=${!f.form}>any form</option>
          ${ctx.definition.forms.map((d) => html`<option value=${d.id} ?selected=${f.form === d.id}>${d.name}</option>`)}
        </select>
      </label>
      <label>Item
        <select name="item" .value=${f.item ?? ''} ?disabled=${!formDef}>
          <option value="" ?selected=${!f.item}>${formDef ? 'any item' : 'choose a form first'}</option>
          ${items.map((i) => html`<option value=${i.id} ?selected=${f.item === i.id}>${i.label}</option>`)}
        </select>
      </label>
      <label>From (UTC) <input name="from" class="date-input" placeholder="DD-MMM-YYYY" size="12" .value=${f.from ? showDate(f.from) : ''} autocomplete="off" /></label>
      <label>To (UTC) <input name="to" class="date-input" placeholder="DD-MMM-YYYY" size="12" .value=${f.to ? showDate(f.to) : ''} autocomplete="off" /></label>
      <label>Reason contains <input name="reason" .value=${f.reason ?? ''} size="14" autocomplete="off" /></label>
      <label>Per page
        <select name="limit">${PAGE_SIZES.map((n) => html`<option value=${n} ?selected=${n === this.pageSize}>${n}</option>`)}</select>
      </label>
      <button type="submit" class="primary">Filter</button>
      ${any ? html`<button type="button" @click=${() => this.clearFilters()}>Clear filters</button>` : nothing}
    </form>
    ${errorBox(this.filterError)}`;
  }

  // What the printed (PDF) trail says it is.
  private filterSummary(): string {
    const f = this.filters;
    const parts: string[] = [];
    if (this.path) parts.push('scope ' + this.where(this.path));
    if (f.user) parts.push('user ' + f.user);
    if (f.event) parts.push('event ' + f.event);
    if (f.visit) parts.push('visit ' + visitName(this.ctx, f.visit));
    if (f.form) parts.push('form ' + formName(this.ctx, f.form));
    if (f.item && f.form) parts.push('item ' + itemLabel(this.ctx, f.form, f.item));
    if (f.from) parts.push('from ' + showDate(f.from));
    if (f.to) parts.push('to ' + showDate(f.to));
    if (f.reason) parts.push(`reason containing “${f.reason}”`);
    return parts.length ? parts.join('; ') : 'none';
  }

  private asOfPanel(): TemplateResult {
    const submit = (e: Event) => {
      e.preventDefault();
      const field = (e.target as HTMLFormElement).elements.namedItem('when') as HTMLInputElement;
      const when = parseDateTimeInput(field.value);
      if (!when) {
        this.thenError = `“${field.value}” is not a moment: write it as DD-MMM-YYYY HH:MM:SS (UTC), for example 05-MAR-2026 09:30:00.`;
        this.ctx.update();
        return;
      }
      void this.loadAsOf(when);
    };
    const [, , visit, form] = this.path.split('/');
    const def = form ? this.ctx.definition.forms.find((f) => f.id === form) : undefined;
    const then = this.then;
    let body: TemplateResult | typeof nothing = nothing;
    if (then) {
      // Visits in the schedule's order, each visit's forms in its order.
      const shown = def && visit
        ? [[visit, form] as const]
        : inScheduleOrder(this.ctx, Object.keys(then.visits)).flatMap((v) =>
            formsInOrder(this.ctx, v, Object.keys(then.visits[v].forms)).map((f) => [v, f] as const),
          );
      body = html`${shown.map(([v, f]) => {
        const fd = this.ctx.definition.forms.find((x) => x.id === f);
        const fs = then.visits[v]?.forms[f];
        return html`<h3 data-visit=${v}>${visitName(this.ctx, v)} › ${formName(this.ctx, f)}</h3>
          ${fd && fs ? valuesTable(fd, fs.items) : html`<p>No data yet at that moment.</p>`}`;
      })}`;
    }
    return html`<section class="panel no-print" aria-labelledby="as-of-title">
      <h2 id="as-of-title">As it stood at a past moment</h2>
      <form class="inline" @submit=${submit}>
        <label>Moment (UTC) <input name="when" class="date-input" placeholder="DD-MMM-YYYY HH:MM:SS" size="24" autocomplete="off"
          .value=${this.asOf ? showTime(this.asOf).replace(/ UTC$/, '') : ''} /></label>
        <button type="submit">Show</button>
      </form>
      ${errorBox(this.thenError)}
      ${then ? html`<p>Status then: <span class="badge">${label(then.status)}</span> (as of ${showTime(then.as_of ?? this.asOf)})</p>${body}` : nothing}
    </section>`;
  }

  template() {
    const ctx = this.ctx;
    const scope = this.path ? this.where(this.path) : 'the whole casebook';
    const last = this.first + this.entries.length - 1;
    const paging = html`<div class="toolbar pager no-print">
      <button type="button" ?disabled=${this.before.length === 0} @click=${() => void this.page(-1)}>‹ Previous page</button>
      <button type="button" ?disabled=${!this.next} @click=${() => void this.page(1)}>Next page ›</button>
      <span class="spacer"></span>
      <button type="button" @click=${() => void this.exportCsv()}>Export CSV</button>
      <button type="button" @click=${() => window.print()} title="Prints this page of the filtered trail; choose “Save as PDF” to keep it as a file">Print / PDF</button>
    </div>`;
    return html`<p class="crumbs no-print"><a href=${subjectLink(ctx, this.subject)}>Subject ${this.subject}</a> › Audit trail</p>
      <h1>Audit trail: ${scope}</h1>
      <p class="print-only">Study ${ctx.study.id}, subject ${this.subject}. Filters: ${this.filterSummary()}.
        Entries ${this.entries.length ? `${this.first}–${last}` : 'none'}. Printed by ${ctx.me.user} on
        ${showTime(new Date().toISOString())}.</p>
      ${this.path
        ? html`<p class="no-print"><a href=${subjectLink(ctx, this.subject, '/audit')} @click=${() => ((this.path = ''), this.restart())}>Show the whole casebook’s trail</a></p>`
        : nothing}
      ${this.filterForm()}
      ${errorBox(this.error)}
      ${!this.loaded
        ? html`<p>Loading…</p>`
        : html`${paging}<table class="data audit stack">
            <caption>${this.entries.length
              ? `Entries ${this.first}–${last}${this.next ? ', more on the next page' : ''}, oldest first.`
              : 'No entries match.'}
              <span class="no-print">Select a time to see the casebook as it stood then.</span></caption>
            <thead>
              <tr><th scope="col">When (UTC)</th><th scope="col">Who</th><th scope="col">What</th><th scope="col">Where</th>
                <th scope="col">Old value</th><th scope="col">New value</th><th scope="col">Reason</th></tr>
            </thead>
            <tbody>
              ${this.entries.map(
                (e) => html`<tr>
                  <td data-label="When"><button type="button" class="link" title="Show the casebook as it stood then"
                    @click=${() => void this.loadAsOf(e.time)}>${showTime(e.time)}</button></td>
                  <td data-label="Who">${auditWho(e, showCodes(ctx))} <span class="muted">(${label(e.role)})</span></td>
                  <td data-label="What">${e.event}</td>
                  <td data-label="Where">${this.where(e.path)}</td>
                  <td class="old" data-label="Old value">${this.value(e.path, e.old)}</td>
                  <td class="new" data-label="New value">${this.value(e.path, e.new)}</td>
                  <td data-label="Reason">${e.reason}</td>
                </tr>`,
              )}
            </tbody>
          </table>${paging}`}
      ${this.asOfPanel()}`;
  }
}
