// A subject's casebook: the schedule as a grid of visits and forms, each
// cell showing the form's state at a glance; the subject's status, queries
// and signatures, and the actions the user's role allows.
import { html, nothing, type TemplateResult } from 'lit-html';
import { ApiError, get, subjectPath } from '../api';
import { formLink, formName, itemLabel, studyLink, subjectLink, visitName, type Context, type View } from '../app';
import { can } from '../roles';
import type { EligibilityReply, ReadOnlyReason, ScheduleVisit, Signature, Subject } from '../types';
import { QUERY_STATE_MEANING, queryCount, raisedByText } from '../query_states';
import { showCodes } from '../codes';
import { adverseEvents, codingCell } from '../ae_coding';
import { cellState, cellWords } from '../cells';
import { runCommand } from '../commands';
import { label, showDate, showTime } from '../format';
import { readOnlyNote } from '../read_only';
import { askReason, confirmAction, errorBox, okBox } from '../ui';
import { signDialog, signingSummaryBox } from './sign';

export class CasebookView implements View {
  private subject: Subject | null = null;
  private schedule: ScheduleVisit[] = [];
  private eligibility: EligibilityReply | null = null;
  private error = '';
  private message = '';
  private timer = 0;

  constructor(private readonly ctx: Context, private readonly id: string) {
    void this.load();
  }

  title(): string {
    return 'Subject ' + this.id;
  }

  private async load(): Promise<void> {
    try {
      const base = subjectPath(this.ctx.study.id, this.id);
      const [subject, schedule] = await Promise.all([get<Subject>(base), get<{ visits: ScheduleVisit[] }>(base + '/schedule')]);
      this.subject = subject;
      this.schedule = schedule.visits;
      // While in screening, what stands between the subject and enrolment.
      this.eligibility = subject.status === 'screening' ? await get<EligibilityReply>(base + '/eligibility') : null;
      this.error = '';
    } catch (e) {
      this.error = e instanceof ApiError && e.status === 404 ? 'There is no subject ' + this.id + ' that you may see.' : (e as Error).message;
    }
    this.ctx.update();
  }

  live(e: { stream: string }): void {
    if (e.stream !== 'subject/' + this.id) return;
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => void this.load(), 300);
  }

  dispose(): void {
    window.clearTimeout(this.timer);
  }

  private async command(body: Record<string, unknown>, done: string): Promise<void> {
    const outcome = await runCommand(this.ctx.study.id, { subject: this.id, ...body }, done);
    if (!outcome.error) await this.load();
    ({ message: this.message, error: this.error } = outcome);
    this.ctx.update();
  }

  private async statusAction(op: string, verb: string, needsReason: boolean): Promise<void> {
    let reason: string | null = null;
    if (needsReason) {
      reason = await askReason(`${verb} subject ${this.id}`, `Give the reason to ${verb.toLowerCase()} this subject.`);
      if (reason === null) return;
    } else if (!(await confirmAction(`${verb} subject ${this.id}`, `${verb} subject ${this.id}?`, verb))) {
      return;
    }
    await this.command(reason ? { op, reason } : { op }, `Subject ${this.id}: ${verb.toLowerCase()} done`);
    if (op === 'subject.enroll' && this.error && this.eligibility && this.eligibility.eligible !== 'yes') {
      // The server lists criteria by code; the page shows them in the protocol's words below.
      this.error = `Subject ${this.id} cannot be enrolled yet: ` +
        (this.eligibility.eligible === 'no' ? 'a criterion is not met.' : 'some criteria cannot be answered yet.') +
        ' See the eligibility criteria below.';
      this.ctx.update();
      document.getElementById('elig-title')?.scrollIntoView();
    }
  }

  // Each criterion in the protocol's words: met, not met, or not yet
  // answerable, with a link to the form that answers it.
  private eligibilityPanel(): TemplateResult | typeof nothing {
    const e = this.eligibility;
    if (!e) return nothing;
    const ctx = this.ctx;
    const codes = showCodes(ctx);
    const RESULT = { met: 'Met', not_met: 'Not met', not_yet_answerable: 'Not yet answerable' };
    const order = { not_met: 0, not_yet_answerable: 1, met: 2 };
    const criteria = [...e.criteria].sort((a, b) => order[a.result] - order[b.result]);
    const summary = e.eligible === 'yes'
      ? 'Every criterion is met: the subject can be enrolled.'
      : e.eligible === 'no'
        ? 'Not eligible: a criterion is not met.'
        : `Not yet: ${e.criteria.filter((c) => c.result === 'not_yet_answerable').length} of ${e.criteria.length} criteria cannot be answered yet.`;
    return html`<section class="panel" aria-labelledby="elig-title">
      <h2 id="elig-title">Eligibility</h2>
      <p>${summary}</p>
      <ul class="criteria">
        ${criteria.map(
          (c) => html`<li class="criterion ${c.result.replace(/_/g, '-')}">
            <span class="badge criterion-${c.result.replace(/_/g, '-')}">${RESULT[c.result]}</span>
            ${c.kind === 'inclusion' ? 'Inclusion' : 'Exclusion'}${codes ? ` ${c.id}` : ''}: ${c.text}
            ${c.form
              ? html`<a href=${formLink(ctx, this.id, c.visit, c.form)}>${c.result === 'not_yet_answerable' ? 'Answer it on' : 'See'} ${formName(ctx, c.form)} (${visitName(ctx, c.visit)})</a>`
              : nothing}
          </li>`,
        )}
      </ul>
    </section>`;
  }

  private async markMissed(visit: string): Promise<void> {
    const name = visitName(this.ctx, visit);
    const reason = await askReason(`${name} missed`, `Record that ${name} did not take place. Why?`);
    if (reason === null) return;
    await this.command({ op: 'visit.missed', visit, reason }, `${name} recorded as missed`);
  }

  private async sign(): Promise<void> {
    let summary;
    try {
      summary = await signingSummaryBox(this.ctx, this.id, {});
    } catch (e) {
      this.error = (e as Error).message;
      return this.ctx.update();
    }
    const signed = await signDialog(this.ctx, { subject: this.id }, 'the whole casebook of subject ' + this.id, summary);
    if (signed) {
      this.message = 'Casebook signed';
      await this.load();
    }
  }

  // Why nothing of the subject's data may change, if so: the first of a
  // locked database, an inactivated, a locked and a frozen subject (as the
  // server decides for its forms, capture/state.h WhyReadOnly).
  private readOnly(): ReadOnlyReason | null {
    const s = this.subject!;
    if (this.ctx.study.locked) return 'database_locked';
    if (s.inactive) return 'subject_inactive';
    if (s.locked) return 'subject_locked';
    if (s.frozen) return 'subject_frozen';
    return null;
  }

  // Only what the server would accept: under a database lock nothing; an
  // inactivated subject can be reactivated, a locked one unlocked, a frozen
  // one unfrozen or locked; the audit trail always opens.
  private actions(): TemplateResult {
    const s = this.subject!;
    const role = this.ctx.role;
    const why = this.readOnly();
    const buttons: TemplateResult[] = [];
    const trail = html`<a class="button" href=${subjectLink(this.ctx, this.id, '/audit')}>Audit trail</a>`;
    if (why === 'database_locked') return html`<div class="toolbar">${trail}</div>`;
    if (can.manageSubjects(role) && !why) {
      if (s.status === 'screening') {
        buttons.push(html`<button type="button" class="primary" @click=${() => void this.statusAction('subject.enroll', 'Enrol', false)}>Enrol</button>`);
        buttons.push(html`<button type="button" @click=${() => void this.statusAction('subject.screen_fail', 'Screen-fail', true)}>Screen failure</button>`);
      }
      if (s.status === 'enrolled') {
        buttons.push(html`<button type="button" @click=${() => void this.statusAction('subject.complete', 'Complete', false)}>Complete</button>`);
        buttons.push(html`<button type="button" @click=${() => void this.statusAction('subject.withdraw', 'Withdraw', true)}>Withdraw</button>`);
      }
    }
    if (can.sign(role) && !why) buttons.push(html`<button type="button" class="primary" @click=${() => void this.sign()}>Sign casebook…</button>`);
    if (can.control(role) && !s.inactive) {
      if (!s.locked) {
        buttons.push(
          s.frozen
            ? html`<button type="button" @click=${() => void this.statusAction('subject.unfreeze', 'Unfreeze', true)}>Unfreeze</button>`
            : html`<button type="button" @click=${() => void this.statusAction('subject.freeze', 'Freeze', false)}>Freeze</button>`,
        );
      }
      buttons.push(
        s.locked
          ? html`<button type="button" @click=${() => void this.statusAction('subject.unlock', 'Unlock', true)}>Unlock</button>`
          : html`<button type="button" @click=${() => void this.statusAction('subject.lock', 'Lock', false)}>Lock</button>`,
      );
    }
    if (can.inactivate(role) && !s.locked) {
      buttons.push(
        s.inactive
          ? html`<button type="button" @click=${() => void this.statusAction('subject.reactivate', 'Reactivate', true)}>Reactivate…</button>`
          : html`<button type="button" @click=${() => void this.statusAction('subject.inactivate', 'Inactivate', true)}>Inactivate…</button>`,
      );
    }
    buttons.push(trail);
    return html`<div class="toolbar">${buttons}</div>`;
  }

  private grid(): TemplateResult {
    const ctx = this.ctx;
    const s = this.subject!;
    const forms: string[] = [];
    for (const v of this.schedule) for (const f of v.forms) if (!forms.includes(f.form)) forms.push(f.form);
    forms.sort((a, b) => ctx.definition.forms.findIndex((f) => f.id === a) - ctx.definition.forms.findIndex((f) => f.id === b));
    return html`<div class="grid-scroll" tabindex="0" aria-label="Visit schedule (scrolls sideways)">
      <table class="grid">
        <caption>Visits and forms</caption>
        <thead>
          <tr>
            <th scope="col">Visit</th>
            <th scope="col">Planned</th>
            <th scope="col">Actual</th>
            <th scope="col">Window</th>
            ${forms.map((f) => html`<th scope="col"><abbr title=${formName(ctx, f)}>${f}</abbr></th>`)}
          </tr>
        </thead>
        <tbody>
          ${this.schedule.map((v) => {
            const missed = s.visits[v.visit]?.missed;
            // A scheduled visit without data that is due or overdue can be recorded as missed.
            const canMiss = can.manageSubjects(ctx.role) && !this.readOnly() && !missed && (v.status === 'due' || v.status === 'overdue') &&
              v.forms.every((f) => f.status === 'not started');
            return html`<tr>
              <th scope="row">${visitName(ctx, v.visit)}
                ${canMiss
                  ? html`<button type="button" class="link small" @click=${() => void this.markMissed(v.visit)}
                      aria-label="Record ${visitName(ctx, v.visit)} as missed">missed…</button>`
                  : nothing}</th>
              <td>${v.planned ? showDate(v.planned) : '—'}</td>
              <td>${v.actual ? showDate(v.actual) : '—'}</td>
              <td><span class="badge window-${v.status.replace(/ /g, '-')}">${missed ? 'missed' : label(v.status)}</span></td>
              ${forms.map((f) => {
                const entry = v.forms.find((x) => x.form === f);
                if (!entry) return html`<td class="cell none"></td>`;
                const c = cellState(s, v.visit, f, entry.status);
                const words = cellWords(c);
                return html`<td class="cell ${c.status.replace(/ /g, '-')} ${c.openQueries || c.answeredQueries ? 'has-queries' : ''} ${c.verified ? 'verified' : ''} ${c.locked ? 'locked' : ''}">
                  <a href=${formLink(ctx, this.id, v.visit, f)} aria-label="${formName(ctx, f)} at ${visitName(ctx, v.visit)}: ${words.join(', ')}"
                    data-cell="${v.visit}/${f}">
                    <span class="cell-status">${c.status}</span>
                    ${c.openQueries ? html`<span class="flag query" title=${queryCount(c.openQueries, 'open') + ', ' + QUERY_STATE_MEANING.open}>?${c.openQueries}</span>` : nothing}
                    ${c.answeredQueries ? html`<span class="flag query answered" title=${queryCount(c.answeredQueries, 'answered') + ', ' + QUERY_STATE_MEANING.answered}>↩${c.answeredQueries}</span>` : nothing}
                    ${c.verified ? html`<span class="flag sdv" title="verified">✓</span>` : nothing}
                    ${c.signed ? html`<span class="flag signed" title="signed">✍</span>` : nothing}
                    ${c.brokenSignature ? html`<span class="flag broken" title="signature broken">✍̸</span>` : nothing}
                    ${c.frozen ? html`<span class="flag frozen" title="frozen">❄</span>` : nothing}
                    ${c.locked ? html`<span class="flag locked" title="locked">▣</span>` : nothing}
                  </a>
                </td>`;
              })}
            </tr>`;
          })}
        </tbody>
      </table>
    </div>
    <p class="legend muted">? open queries (awaiting the site) · ↩ answered queries (awaiting review) · ✓ verified · ✍ signed · ✍̸ signature broken · ❄ frozen · ▣ locked</p>
    ${this.unscheduled()}`;
  }

  // Unscheduled visits happen any number of times: the next occurrence of
  // one (AEFU, then AEFU#2 ...) opens on its first form.
  private unscheduled(): TemplateResult | typeof nothing {
    const ctx = this.ctx;
    if (!this.subject || this.readOnly() || !ctx.definition.forms.some((f) => can.enterForm(ctx.role, f))) return nothing;
    const visits = ctx.definition.visits.filter((v) => v.unscheduled && v.forms.length > 0);
    if (!visits.length) return nothing;
    const next = (id: string) => {
      const rows = this.schedule.filter((v) => v.visit.split('#')[0] === id);
      const started = rows.filter((v) => v.forms.some((f) => f.status !== 'not started'));
      if (rows.length > started.length) return rows.find((v) => !started.includes(v))!.visit;
      return rows.length === 0 ? id : `${id}#${rows.length + 1}`;
    };
    const open = (e: Event) => {
      e.preventDefault();
      const id = ((e.target as HTMLFormElement).elements.namedItem('visit') as HTMLSelectElement).value;
      const visit = visits.find((v) => v.id === id)!;
      ctx.navigate(formLink(ctx, this.id, next(id), visit.forms[0]));
    };
    return html`<form class="inline" @submit=${open} aria-label="Unscheduled visit">
      <label>Unscheduled visit
        <select name="visit">${visits.map((v) => html`<option value=${v.id}>${v.name} (next: ${visitName(ctx, next(v.id))})</option>`)}</select>
      </label>
      <button type="submit">Start</button>
    </form>`;
  }

  // The subject's adverse events with their MedDRA coding: what listings
  // and tabulations will count each as, and which still wait for a coder.
  private adverseEventsPanel(): TemplateResult | typeof nothing {
    const ctx = this.ctx;
    const ae = ctx.definition.adverse_events;
    if (!ae || !this.subject) return nothing;
    const lines = adverseEvents(ctx.definition, this.subject, this.schedule.map((v) => v.visit));
    const codes = showCodes(ctx);
    const uncoded = lines.filter((l) => !l.coding).length;
    return html`<section class="panel" aria-labelledby="ae-title">
      <h2 id="ae-title">Adverse events</h2>
      ${lines.length === 0
        ? html`<p>No adverse events recorded.</p>`
        : html`${uncoded ? html`<p>${uncoded} of ${lines.length} not coded to MedDRA yet.</p>` : nothing}
            <table class="data compact stack adverse-events">
              <thead><tr><th scope="col">Visit</th><th scope="col">Row</th><th scope="col">Adverse event</th><th scope="col">MedDRA PT and SOC</th></tr></thead>
              <tbody>
                ${lines.map(
                  (l) => html`<tr data-row=${`${l.visit}/${l.row}`}>
                    <td data-label="Visit">${visitName(ctx, l.visit)}</td>
                    <td data-label="Row">${l.row}</td>
                    <td data-label="Adverse event"><a href=${formLink(ctx, this.id, l.visit, ae.form)}>${l.term || '(no term)'}</a></td>
                    <td data-label="MedDRA PT and SOC">${codingCell(l.coding, codes, true)}</td>
                  </tr>`,
                )}
              </tbody>
            </table>`}
    </section>`;
  }

  // Why the casebook is read only; a locked database is said by the banner every page shows.
  private readOnlyNotice(): TemplateResult | typeof nothing {
    const s = this.subject!;
    const why = this.readOnly();
    if (!why || why === 'database_locked') return nothing;
    if (why === 'subject_inactive') {
      return html`<div class="notice" role="status" data-read-only=${why}>Inactivated: ${s.inactive_reason}. The subject is kept with its audit trail, read-only, and left out of lists unless asked for.</div>`;
    }
    return readOnlyNote(why, s.id);
  }

  template() {
    const ctx = this.ctx;
    const s = this.subject;
    if (!s) return html`<h1>Subject ${this.id}</h1>${errorBox(this.error)}${this.error ? nothing : html`<p>Loading…</p>`}`;
    return html`<p class="crumbs"><a href=${studyLink(ctx, '/subjects')}>Subjects</a> › ${s.id}</p>
      <h1>Subject ${s.id}</h1>
      <p>
        Site ${s.site} · <span class="badge status-${s.status}">${label(s.status)}</span>
        ${s.frozen ? html`<span class="badge frozen">frozen</span>` : nothing}
        ${s.locked ? html`<span class="badge locked">locked</span>` : nothing}
        ${s.inactive ? html`<span class="badge inactive">Inactivated</span>` : nothing}
      </p>
      ${this.readOnlyNotice()}
      ${this.actions()} ${okBox(this.message)} ${errorBox(this.error)} ${this.grid()} ${this.eligibilityPanel()} ${this.adverseEventsPanel()}
      <section class="panel" aria-labelledby="sig-title">
        <h2 id="sig-title">Signatures</h2>
        ${s.signatures.length === 0
          ? html`<p>No signatures yet.</p>`
          : html`<ul class="signatures">
              ${s.signatures.map((g) => signatureLine(ctx, g))}
            </ul>`}
      </section>
      <section class="panel" aria-labelledby="q-title">
        <h2 id="q-title">Queries</h2>
        ${s.queries.length === 0
          ? html`<p>No queries.</p>`
          : html`<table class="data compact stack">
              <thead><tr><th scope="col">#</th><th scope="col">Where</th><th scope="col">Question</th><th scope="col">Raised by</th><th scope="col">State</th></tr></thead>
              <tbody>
                ${s.queries.map(
                  (q) => html`<tr>
                    <td data-label="#">${q.query}</td>
                    <td data-label="Where"><a href=${formLink(ctx, s.id, q.visit, q.form, '?query=' + q.query)}>${visitName(ctx, q.visit)} › ${formName(ctx, q.form)} › ${itemLabel(ctx, q.form, q.item)}</a></td>
                    <td data-label="Question">${q.thread[0]?.message ?? ''}</td>
                    <td data-label="Raised by">${raisedByText(q.raised_by, showCodes(ctx))}</td>
                    <td data-label="State"><span class="badge query-${q.state}">${q.state}</span></td>
                  </tr>`,
                )}
              </tbody>
            </table>`}
      </section>`;
  }
}

// The manifestation of a signature (21 CFR 11.50): printed name, UTC time, meaning.
export function signatureLine(ctx: Context, g: Signature): TemplateResult {
  const scope = g.form ? `${formName(ctx, g.form)} at ${visitName(ctx, g.visit)}` : g.visit ? visitName(ctx, g.visit) : 'whole casebook';
  return html`<li class="signature ${g.broken ? 'broken' : 'valid'}">
    <strong>${g.signer_name}</strong> (${g.signer}) signed the ${scope} on ${showTime(g.time)}; meaning: <em>${g.meaning}</em>.
    ${g.broken
      ? html`<span class="badge broken">Signature broken: the signed data changed afterwards and must be signed again</span>`
      : html`<span class="badge signed">Valid</span>`}
  </li>`;
}
