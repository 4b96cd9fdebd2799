// One safety case (doc/safety_cases.md): the facts from the CRF, the
// reporting clocks, where the case stands, and each step of its workflow —
// triage, MedDRA coding, medical review, approval, E2B(R3) submission,
// acknowledgements, nullification and unblinding — with its form where the
// acting role may take it now (the reply's `actions`). Every step is a
// capture command; the case is read again after each, and when a change to
// its subject arrives.
import { html, nothing, type TemplateResult } from 'lit-html';
import { ApiError, get, postText, studyPath } from '../api';
import { formLink, LiveReload, studyLink, subjectLink, visitName, type Context, type View } from '../app';
import { runCommand } from '../commands';
import { showDate, showTime, showValue } from '../format';
import { ROLE_NAMES } from '../roles';
import { daysLeftText, urgency } from '../safety_clock';
import { ackText, CAUSALITY_WORDS, destinationsOwed, historyText, lltToSend, methodText, splitFindings, stageText } from '../safety_case';
import type { AckReply, CaseNotification, CodingReply, E2bPreview, MeddraPath, SafetyCaseDetail } from '../types';
import { askReason, errorBox, okBox } from '../ui';
import { CRITERIA, SOURCES } from './safety';

type Preview = { preview?: E2bPreview; error?: string };

export class SafetyCaseView implements View {
  private detail: SafetyCaseDetail | null = null;
  private error = '';
  private message = '';
  private busy = false;
  private coding: CodingReply | null = null;
  private codingError = '';
  private lookup = ''; // the term last looked up in MedDRA ('' : the case's own)
  private previews = new Map<string, Preview>();
  private ack: AckReply | null = null;
  private ackError = '';
  private told: CaseNotification[] | null = null;
  private toldError = '';
  // Medical review's choices as they are being made.
  private causality = '';
  private expectedness = '';
  private triageDecision = '';
  private readonly reload = new LiveReload(() => void this.load());

  constructor(private readonly ctx: Context, private readonly id: string) {
    void this.load();
  }

  title(): string {
    return 'Safety case ' + this.id;
  }

  private base(): string {
    return studyPath(this.ctx.study.id) + '/safety/cases/' + encodeURIComponent(this.id);
  }

  private async load(): Promise<void> {
    try {
      const detail = await get<SafetyCaseDetail>(this.base());
      this.detail = detail;
      this.error = '';
      await Promise.all([this.loadCoding(), this.loadPreviews(), this.loadTold()]);
    } catch (e) {
      this.error = e instanceof ApiError && e.status === 404 ? 'There is no safety case ' + this.id + ' that you may see.' : (e as Error).message;
    }
    this.ctx.update();
  }

  // The autocoder's answer for the case's term (or the term looked up), while coding is open to the role.
  private async loadCoding(): Promise<void> {
    const d = this.detail;
    if (!d || !d.actions.includes('code') || (d.coding?.current && !this.lookup && d.stage !== 'coding')) {
      this.coding = null;
      return;
    }
    try {
      this.coding = await get<CodingReply>(this.base() + '/coding' + (this.lookup ? '?term=' + encodeURIComponent(this.lookup) : ''));
      this.codingError = '';
    } catch (e) {
      this.coding = null;
      this.codingError = (e as Error).message;
    }
  }

  // The message each owed destination would receive, checked, while submission is open to the role.
  // Who the unblinded contacts are, and whether each was told (the notifier
  // sends beside the server, so a mail may still be pending).
  private async loadTold(): Promise<void> {
    const d = this.detail;
    if (!d?.unblinded || this.ctx.role !== 'safety_physician') {
      this.told = null;
      return;
    }
    try {
      this.told = (await get<{ notifications: CaseNotification[] }>(this.base() + '/notifications')).notifications;
      this.toldError = '';
    } catch (e) {
      this.told = null;
      this.toldError = (e as Error).message;
    }
  }

  private async loadPreviews(): Promise<void> {
    const d = this.detail;
    this.previews = new Map();
    if (!d || !d.actions.includes('submit')) return;
    await Promise.all(
      destinationsOwed(d).map(async (destination) => {
        try {
          const preview = await get<E2bPreview>(this.base() + '/e2b?destination=' + encodeURIComponent(destination));
          this.previews.set(destination, { preview });
        } catch (e) {
          this.previews.set(destination, { error: (e as Error).message });
        }
      }),
    );
  }

  live(e: { type: string; stream: string }): void {
    if (!this.detail) return;
    const stream = this.detail.subject ? 'subject/' + this.detail.subject : 'case/' + this.detail.case;
    if (e.stream !== stream) return;
    if (!e.type.startsWith('safety.') && e.type !== 'form.saved' && e.type !== 'row.removed') return;
    this.reload.changed();
  }

  dispose(): void {
    this.reload.dispose();
  }

  private async command(op: string, fields: Record<string, unknown>, done: string): Promise<boolean> {
    const d = this.detail!;
    this.busy = true;
    this.ctx.update();
    // A direct case is named by its id alone.
    const target = d.subject ? { subject: d.subject, case: d.case } : { case: d.case };
    const outcome = await runCommand(this.ctx.study.id, { op, ...target, ...fields }, done);
    this.busy = false;
    if (!outcome.error) {
      this.lookup = '';
      await this.load();
    }
    ({ message: this.message, error: this.error } = outcome);
    this.ctx.update();
    if (outcome.error) document.querySelector('main .error-box')?.scrollIntoView({ block: 'center' });
    return !outcome.error;
  }

  // --- the facts, the clocks -------------------------------------------------

  // A direct case: the report as the safety team received it.
  private received(d: SafetyCaseDetail): TemplateResult {
    const r = d.received!;
    const f = r.facts;
    const who = f?.reporter;
    const narrative = f?.narrative ?? r.narrative;
    return html`<section class="panel" aria-labelledby="facts-title">
      <h2 id="facts-title">The report, as received</h2>
      <dl class="facts">
        <dt>Source</dt><dd>${SOURCES[r.source] ?? r.source}${r.worldwide_id ? `, worldwide case id ${r.worldwide_id}` : ''}${r.sender ? `, from ${r.sender}` : ''}</dd>
        <dt>Received</dt><dd>${showDate(r.received)}${r.latest && r.latest !== r.received ? ` (latest information ${showDate(r.latest)})` : ''}</dd>
        ${who
          ? html`<dt>Reporter</dt><dd>${[who.given, who.family].filter(Boolean).join(' ') || 'not named'},
              ${(who.qualification ?? '').replaceAll('_', ' ')}${who.country ? `, ${who.country}` : ''}</dd>`
          : nothing}
        ${f?.patient
          ? html`<dt>Patient</dt><dd>${[f.patient.sex, f.patient.age ? f.patient.age + ' years' : ''].filter(Boolean).join(', ') || 'not identified'}</dd>`
          : nothing}
        <dt>Event term</dt><dd>${d.term || '(no term yet)'}</dd>
        <dt>Onset</dt><dd>${d.onset ? showDate(d.onset) : '—'}</dd>
        <dt>Outcome</dt><dd>${d.outcome || '—'}</dd>
        <dt>Seriousness</dt><dd>${d.criteria.map((x) => CRITERIA[x] ?? x).join(', ') || 'not serious'}</dd>
        <dt>Suspect product</dt><dd>${f?.product ?? (r.drugs ?? []).filter((x) => x.characterisation === '1').map((x) => x.name).join(', ')}</dd>
        ${f?.reference ? html`<dt>Reference</dt><dd>${f.reference}</dd>` : nothing}
        <dt>Day 0</dt><dd>${showDate(d.day0)}</dd>
        <dt>Version</dt><dd>${d.version}${d.followups ? ` (${d.followups} with new information)` : ''}</dd>
      </dl>
      ${narrative ? html`<p class="narrative">${narrative}</p>` : nothing}
      ${this.ctx.role === 'safety_physician' && f && d.stage !== 'nullified'
        ? html`<p><a class="button" href=${studyLink(this.ctx, '/safety/cases/' + encodeURIComponent(d.case) + '/update')}>Enter new information…</a></p>`
        : nothing}
    </section>`;
  }

  private facts(d: SafetyCaseDetail): TemplateResult {
    if (d.received) return this.received(d);
    const ctx = this.ctx;
    const a = d.assessment;
    return html`<section class="panel" aria-labelledby="facts-title">
      <h2 id="facts-title">The event, as the site recorded it</h2>
      <dl class="facts">
        <dt>Event term</dt><dd>${d.term || '(no term yet)'}</dd>
        <dt>Subject</dt><dd><a href=${subjectLink(ctx, d.subject)}>${d.subject}</a>, site ${d.site}</dd>
        <dt>Onset</dt><dd>${d.onset ? showDate(d.onset) : '—'}</dd>
        <dt>Outcome</dt><dd>${d.outcome || '—'}</dd>
        <dt>Seriousness</dt><dd>${d.criteria.map((x) => CRITERIA[x] ?? x).join(', ') || (d.serious ? 'serious' : 'no longer serious')}
          ${d.fatal_or_life_threatening ? html`<strong>(fatal or life-threatening)</strong>` : nothing}</dd>
        <dt>Investigator's causality</dt><dd>${a.investigator_causality || 'not given'}
          (${a.investigator_related ? 'related' : 'not related'} to the study drug, as the study reads it)</dd>
        <dt>Day 0</dt><dd>${showDate(d.day0)} (first saved as serious ${showTime(d.aware)})</dd>
        <dt>Version</dt><dd>${d.version}${d.followups ? ` (${d.followups} follow-up${d.followups === 1 ? '' : 's'})` : ''}</dd>
      </dl>
      <p><a href=${formLink(ctx, d.subject, d.visit, d.form)}>Open the adverse event on the CRF</a>
        (${visitName(ctx, d.visit)}, row ${d.row})</p>
    </section>`;
  }

  private clocks(d: SafetyCaseDetail): TemplateResult {
    return html`<section class="panel" aria-labelledby="clocks-title">
      <h2 id="clocks-title">Reporting clocks</h2>
      ${d.reports.length === 0
        ? html`<p>No expedited report is owed${d.assessment.status === 'not_susar' ? ': the medical review found no SUSAR' : ''}.</p>`
        : html`<table class="data compact stack safety-clocks">
            <thead><tr><th scope="col">Destination</th><th scope="col">Report</th><th scope="col">Due</th>
              <th scope="col">Days left</th><th scope="col">Sent</th><th scope="col">Rule</th></tr></thead>
            <tbody>
              ${d.reports.map(
                (r) => html`<tr data-destination=${r.destination}>
                  <td data-label="Destination">${r.destination}</td>
                  <td data-label="Report">${r.kind} (${r.days} days)</td>
                  <td data-label="Due">${showDate(r.due)}${r.follow_up_due ? html`<div class="where">completed report by ${showDate(r.follow_up_due)}</div>` : nothing}</td>
                  <td data-label="Days left" class=${urgency(r.days_left)}>${r.days_left === undefined ? '—' : daysLeftText(r.days_left)}</td>
                  <td data-label="Sent">${r.submitted
                    ? html`${showTime(r.submitted)} (submission ${r.submission})${r.late ? html` <strong class="overdue">late</strong>` : ' on time'}`
                    : 'not yet'}</td>
                  <td data-label="Rule">${r.rule}</td>
                </tr>`,
              )}
            </tbody>
          </table>`}
      ${d.assessment.status === 'pending'
        ? html`<p class="hint">Assessment pending: until its medical review the case counts on the shortest clock it could need.</p>`
        : nothing}
    </section>`;
  }

  // --- triage -----------------------------------------------------------------

  private triage(d: SafetyCaseDetail): TemplateResult {
    const t = d.triage;
    const status = !t.done
      ? 'Not triaged yet.'
      : t.duplicate_of
        ? `Triaged as a duplicate of ${t.duplicate_of}.`
        : t.valid
          ? 'Triaged: a valid case.'
          : `Triaged: not a valid case yet${t.missing?.length ? ` (missing: ${t.missing.join(', ')})` : ''}.`;
    const submit = (e: Event) => {
      e.preventDefault();
      const f = e.target as HTMLFormElement;
      const decision = this.triageDecision;
      const note = (f.elements.namedItem('note') as HTMLTextAreaElement).value.trim();
      const of = (f.elements.namedItem('duplicate_of') as HTMLInputElement | null)?.value.trim() ?? '';
      if (!decision) return this.fail('Choose a triage decision.');
      if (decision === 'invalid' && !note) return this.fail('Say what is missing: a case that is not valid needs a note.');
      if (decision === 'duplicate' && !of) return this.fail('Name the case this one duplicates.');
      const fields: Record<string, unknown> = { decision };
      if (note) fields.note = note;
      if (decision === 'duplicate') fields.duplicate_of = of;
      const words = decision === 'valid' ? 'valid' : decision === 'invalid' ? 'not valid yet' : 'a duplicate of ' + of;
      void this.command('safety.triage', fields, `Case ${d.case} triaged: ${words}`).then((ok) => ok && (this.triageDecision = ''));
    };
    const choose = (e: Event) => {
      this.triageDecision = (e.target as HTMLInputElement).value;
      this.ctx.update();
    };
    return html`<section class="panel" aria-labelledby="triage-title">
      <h2 id="triage-title">Triage</h2>
      <p>${status}</p>
      ${d.actions.includes('triage')
        ? html`<form @submit=${submit} novalidate>
            <fieldset class="choices">
              <legend>Decision</legend>
              <label><input type="radio" name="decision" value="valid" .checked=${this.triageDecision === 'valid'} @change=${choose} /> Valid case</label>
              <label><input type="radio" name="decision" value="invalid" .checked=${this.triageDecision === 'invalid'} @change=${choose} /> Not valid yet (note required)</label>
              <label><input type="radio" name="decision" value="duplicate" .checked=${this.triageDecision === 'duplicate'} @change=${choose} /> Duplicate of another case</label>
            </fieldset>
            ${this.triageDecision === 'duplicate'
              ? html`<label for="triage-duplicate">Duplicate of (case id)</label>
                  <input id="triage-duplicate" name="duplicate_of" placeholder="${d.subject}-SAE1" />`
              : nothing}
            <label for="triage-note">Note${this.triageDecision === 'invalid' ? ' (required: what is missing)' : ' (optional)'}</label>
            <textarea id="triage-note" name="note" rows="2"></textarea>
            <div class="actions left"><button type="submit" class="primary" ?disabled=${this.busy}>Record triage</button></div>
          </form>`
        : nothing}
    </section>`;
  }

  // --- coding -----------------------------------------------------------------

  private pathText(p: Pick<MeddraPath, 'llt' | 'pt' | 'soc'>): string {
    return `${p.llt.name} (${p.pt.name}, ${p.soc.name})`;
  }

  private hierarchy(p: Omit<MeddraPath, 'current'>): TemplateResult {
    return html`<span class="meddra-path">LLT ${p.llt.name} <span class="code">${p.llt.code}</span> › PT ${p.pt.name}
      <span class="code">${p.pt.code}</span> › HLT ${p.hlt.name} › HLGT ${p.hlgt.name} › SOC ${p.soc.name}</span>`;
  }

  private code(p: MeddraPath): void {
    const d = this.detail!;
    const k = this.coding!;
    const llt = lltToSend(d.term, k.term, k.rule, p.llt.code);
    const fields: Record<string, unknown> = { meddra_version: k.meddra_version };
    if (llt !== undefined) fields.llt = llt;
    void this.command('safety.code', fields, `Case ${d.case} coded as ${this.pathText(p)}`);
  }

  private codingSection(d: SafetyCaseDetail): TemplateResult {
    const k = d.coding;
    const current = k
      ? html`<p>Coded${k.current ? '' : html` <strong>(out of date: the term on the CRF changed since)</strong>`} in MedDRA
            ${k.meddra_version} (${k.meddra_language}) by ${k.by}, ${showTime(k.at)}, ${methodText(k.method)}: verbatim "${k.verbatim}"</p>
          <p>${this.hierarchy(k)}</p>`
      : html`<p>Not coded yet.</p>`;
    const c = this.coding;
    const lookUp = (e: Event) => {
      e.preventDefault();
      this.lookup = ((e.target as HTMLFormElement).elements.namedItem('term') as HTMLInputElement).value.trim();
      void this.loadCoding().then(() => this.ctx.update());
    };
    const form = d.actions.includes('code')
      ? html`${errorBox(this.codingError)}
          ${c
            ? html`<h3>MedDRA ${c.meddra_version}: "${c.term}"</h3>
                ${c.coding
                  ? html`<p>The autocoder's ${c.rule === 'exact' ? 'exact' : 'normalised'} match: ${this.hierarchy(c.coding)}</p>
                      <button type="button" class="primary" ?disabled=${this.busy} @click=${() => this.code(c.coding!)}>Code as ${this.pathText(c.coding)}</button>`
                  : html`<p>${c.candidates.length
                      ? `No single match (${c.rule}): choose among the candidates, the closest first.`
                      : 'No candidate: look up another term.'}</p>`}
                ${!c.coding && c.candidates.length
                  ? html`<table class="data compact stack coding-candidates">
                      <caption>Candidates for "${c.term}"</caption>
                      <thead><tr><th scope="col">Lowest level term</th><th scope="col">Hierarchy</th><th scope="col">Score</th><th scope="col">Choose</th></tr></thead>
                      <tbody>
                        ${c.candidates.map(
                          (x) => html`<tr>
                            <td data-label="Lowest level term">${x.llt.name} <span class="code">${x.llt.code}</span>${x.current ? nothing : html` <em>(not current)</em>`}</td>
                            <td data-label="Hierarchy">${this.hierarchy(x)}</td>
                            <td data-label="Score">${x.score}</td>
                            <td data-label="Choose"><button type="button" ?disabled=${this.busy || !x.current} @click=${() => this.code(x)}>Code as ${this.pathText(x)}</button></td>
                          </tr>`,
                        )}
                      </tbody>
                    </table>`
                  : nothing}`
            : nothing}
          <form class="inline" @submit=${lookUp} aria-label="Look up a term in MedDRA">
            <label>Look up another term <input name="term" .value=${this.lookup} /></label>
            <button type="submit">Look up</button>
          </form>`
      : nothing;
    return html`<section class="panel" aria-labelledby="coding-title">
      <h2 id="coding-title">MedDRA coding</h2>
      ${current} ${form}
    </section>`;
  }

  // --- medical review -----------------------------------------------------------

  private review(d: SafetyCaseDetail): TemplateResult {
    const a = d.assessment;
    const done = a.sponsor_causality
      ? html`<p>Version ${a.version ?? ''} assessed by ${a.by}, ${a.at ? showTime(a.at) : ''}: sponsor causality
            <strong>${CAUSALITY_WORDS[a.sponsor_causality] ?? a.sponsor_causality}</strong>, <strong>${a.expectedness}</strong>
            against ${a.rsi_document} (study version ${a.study_version}).
            ${a.status === 'susar' ? html`<strong>A SUSAR</strong>: expedited reports are owed.` : a.status === 'not_susar' ? 'Not a SUSAR.' : ''}
            ${a.comment ? html`<br />Comment: ${a.comment}` : nothing}</p>`
      : html`<p>Assessment pending.</p>`;
    const needsComment = this.causality === 'not_related' && a.investigator_related;
    const submit = (e: Event) => {
      e.preventDefault();
      const comment = ((e.target as HTMLFormElement).elements.namedItem('comment') as HTMLTextAreaElement).value.trim();
      if (!this.causality) return this.fail('Choose the sponsor\'s causality.');
      if (!this.expectedness) return this.fail('Choose the expectedness.');
      if (needsComment && !comment) {
        return this.fail('The investigator judged the event related: say why the sponsor does not (comment).');
      }
      const fields: Record<string, unknown> = { causality: this.causality, expectedness: this.expectedness };
      if (comment) fields.comment = comment;
      void this.command('safety.assess', fields, `Case ${d.case} assessed: ${CAUSALITY_WORDS[this.causality]}, ${this.expectedness}`).then((ok) => {
        if (ok) this.causality = this.expectedness = '';
      });
    };
    const pick = (field: 'causality' | 'expectedness') => (e: Event) => {
      this[field] = (e.target as HTMLInputElement).value;
      this.ctx.update();
    };
    return html`<section class="panel" aria-labelledby="review-title">
      <h2 id="review-title">Medical review</h2>
      ${done}
      ${d.actions.includes('assess')
        ? html`<form @submit=${submit} novalidate>
            <fieldset class="choices">
              <legend>Sponsor's causality</legend>
              <label><input type="radio" name="causality" value="related" .checked=${this.causality === 'related'} @change=${pick('causality')} /> Related</label>
              <label><input type="radio" name="causality" value="not_related" .checked=${this.causality === 'not_related'} @change=${pick('causality')} /> Not related</label>
            </fieldset>
            <fieldset class="choices" aria-describedby="rsi-hint">
              <legend>Expectedness</legend>
              <label><input type="radio" name="expectedness" value="expected" .checked=${this.expectedness === 'expected'} @change=${pick('expectedness')} /> Expected</label>
              <label><input type="radio" name="expectedness" value="unexpected" .checked=${this.expectedness === 'unexpected'} @change=${pick('expectedness')} /> Unexpected</label>
            </fieldset>
            <p id="rsi-hint" class="hint">Judged against the reference safety information: ${d.rsi_document}. A preferred term it does not list cannot be called expected.</p>
            <label for="review-comment">Comment${needsComment ? ' (required: the investigator judged it related)' : ' (optional)'}</label>
            <textarea id="review-comment" name="comment" rows="2"></textarea>
            <div class="actions left"><button type="submit" class="primary" ?disabled=${this.busy}>Record the assessment</button></div>
          </form>`
        : nothing}
    </section>`;
  }

  private approval(d: SafetyCaseDetail): TemplateResult {
    return html`<section class="panel" aria-labelledby="approval-title">
      <h2 id="approval-title">Approval</h2>
      ${d.approval ? html`<p>Version ${d.approval.version} approved by ${d.approval.by}, ${showTime(d.approval.at)}.</p>` : html`<p>Not approved yet.</p>`}
      ${d.actions.includes('approve')
        ? html`<button type="button" class="primary" ?disabled=${this.busy}
            @click=${() => void this.command('safety.approve', {}, `Case ${d.case} version ${d.version} approved`)}>Approve version ${d.version}</button>`
        : nothing}
    </section>`;
  }

  // --- submission and acknowledgements ---------------------------------------------------

  private preview(d: SafetyCaseDetail, destination: string): TemplateResult {
    const p = this.previews.get(destination);
    const id = 'e2b-' + destination.toLowerCase();
    if (!p) return html`<p>Checking the message to ${destination}…</p>`;
    if (p.error || !p.preview) return html`<h3 id=${id}>To ${destination}</h3>${errorBox(p.error ?? '')}`;
    const e = p.preview;
    const { rejections, warnings } = splitFindings(e.findings);
    const findingRows = (list: typeof e.findings, kind: string) =>
      list.map((f) => html`<tr class=${kind === 'rejection' ? 'overdue' : ''}>
        <td data-label="Kind">${kind}</td><td data-label="Rule">${f.rule}</td><td data-label="Element">${f.element}</td><td data-label="Message">${f.message}</td>
      </tr>`);
    return html`<div class="e2b-preview" data-destination=${destination} aria-labelledby=${id} role="group">
      <h3 id=${id}>To ${destination} (${e.receiver})</h3>
      <p data-testid="e2b-status-${destination}">${e.valid
        ? `The E2B(R3) message is valid${warnings.length ? ` with ${warnings.length} ${warnings.length === 1 ? 'warning' : 'warnings'}` : ''}: it may be submitted.`
        : `The E2B(R3) message is not valid: ${rejections.length} ${rejections.length === 1 ? 'rejection' : 'rejections'} to correct first.`}</p>
      <p class="where">Batch ${e.batch_number} · message ${e.message_id} · safety report ${e.safety_report_id}</p>
      ${e.findings.length
        ? html`<table class="data compact stack">
            <caption>Findings of the schema and ${destination}'s rules</caption>
            <thead><tr><th scope="col">Kind</th><th scope="col">Rule</th><th scope="col">Element</th><th scope="col">Message</th></tr></thead>
            <tbody>${findingRows(rejections, 'rejection')}${findingRows(warnings, 'warning')}</tbody>
          </table>`
        : nothing}
      <details><summary>The message (XML)</summary><pre class="xml" tabindex="0" aria-label="The E2B(R3) message to ${destination}">${e.xml}</pre></details>
      <button type="button" class="primary" ?disabled=${this.busy || !e.valid}
        @click=${() => void this.command('safety.submit', { destination }, `Case ${d.case} submitted to ${destination}`)}>Submit to ${destination}</button>
    </div>`;
  }

  private submissions(d: SafetyCaseDetail): TemplateResult {
    const owed = d.actions.includes('submit') ? destinationsOwed(d) : [];
    if (!owed.length && !d.submissions.length) return html``;
    return html`<section class="panel" aria-labelledby="submission-title">
      <h2 id="submission-title">Submission (E2B(R3))</h2>
      ${owed.map((dest) => this.preview(d, dest))}
      ${d.submissions.length
        ? html`<table class="data compact stack submissions">
            <caption>Reports sent</caption>
            <thead><tr><th scope="col">#</th><th scope="col">Destination</th><th scope="col">Version</th><th scope="col">Sent</th>
              <th scope="col">Batch and message</th><th scope="col">Acknowledgement</th><th scope="col">File</th></tr></thead>
            <tbody>
              ${d.submissions.map(
                (s) => html`<tr data-submission=${s.submission} data-destination=${s.destination}>
                  <td data-label="#">${s.submission}</td>
                  <td data-label="Destination">${s.destination}${s.nullification ? ' (nullification)' : ''}</td>
                  <td data-label="Version">${s.version}</td>
                  <td data-label="Sent">${showTime(s.at)} by ${s.by}</td>
                  <td data-label="Batch and message"><span class="batch-number">${s.batch_number}</span><div class="where message-id">${s.message_id}</div></td>
                  <td data-label="Acknowledgement" class="ack"><span class="badge ack-${s.ack}">${ackText(s.ack)}</span>
                    ${s.ack_code ? ` (${s.ack_code})` : ''}${s.ack_at ? html`<div class="where">${showTime(s.ack_at)}</div>` : nothing}
                    ${s.ack_errors?.length ? html`<ul class="ack-errors">${s.ack_errors.map((x) => html`<li>${x}</li>`)}</ul>` : nothing}</td>
                  <td data-label="File"><a href=${this.base() + '/submissions/' + s.submission + '/file'} download="${d.case}-${s.submission}.xml"
                    aria-label="Download the file of submission ${s.submission} to ${s.destination}">Download</a>
                    <div class="where" title="SHA-256">${s.file_sha256.slice(0, 12)}…</div></td>
                </tr>`,
              )}
            </tbody>
          </table>`
        : nothing}
    </section>`;
  }

  private acknowledgement(d: SafetyCaseDetail): TemplateResult | typeof nothing {
    if (this.ctx.role !== 'safety_physician' || !d.submissions.length) return nothing;
    const upload = async (e: Event) => {
      e.preventDefault();
      const input = (e.target as HTMLFormElement).elements.namedItem('ack') as HTMLInputElement;
      const file = input.files?.[0];
      if (!file) {
        this.ackError = 'Choose the acknowledgement file the receiver sent.';
        return this.ctx.update();
      }
      this.busy = true;
      this.ctx.update();
      try {
        this.ack = await postText<AckReply>(studyPath(this.ctx.study.id) + '/safety/acks', await file.text(), 'application/xml');
        this.ackError = '';
        input.value = '';
        await this.load();
      } catch (err) {
        this.ack = null;
        this.ackError = (err as Error).message;
      }
      this.busy = false;
      this.ctx.update();
    };
    const a = this.ack;
    return html`<section class="panel" aria-labelledby="ack-title">
      <h2 id="ack-title">Acknowledgements</h2>
      <p>Upload the acknowledgement (MCCI_IN200101UV01) the receiver sent back: each report it names is marked accepted, or rejected with its errors.</p>
      <form class="inline" @submit=${upload}>
        <label>Acknowledgement file (XML) <input type="file" name="ack" accept=".xml,.ack,application/xml,text/xml" /></label>
        <button type="submit" ?disabled=${this.busy}>Upload acknowledgement</button>
      </form>
      ${errorBox(this.ackError)}
      ${a
        ? html`<table class="data compact stack ack-reply">
            <caption>The acknowledgement's reports</caption>
            <thead><tr><th scope="col">Case</th><th scope="col">Submission</th><th scope="col">Destination</th><th scope="col">Result</th><th scope="col">Errors</th></tr></thead>
            <tbody>
              ${a.acknowledged.map(
                (x) => html`<tr>
                  <td data-label="Case">${x.case === d.case ? x.case : html`<a href=${studyLink(this.ctx, '/safety/cases/' + encodeURIComponent(x.case))}>${x.case}</a>`}</td>
                  <td data-label="Submission">${x.submission}</td>
                  <td data-label="Destination">${x.destination}</td>
                  <td data-label="Result">${x.ack}${x.code ? ` (${x.code})` : ''}</td>
                  <td data-label="Errors">${x.errors.join('; ') || '—'}</td>
                </tr>`,
              )}
            </tbody>
          </table>`
        : nothing}
    </section>`;
  }

  // --- nullification, unblinding, history -----------------------------------------------

  private async withReason(op: string, title: string, explanation: string, done: string): Promise<void> {
    const reason = await askReason(title, explanation);
    if (reason === null) return;
    await this.command(op, { reason }, done);
  }

  private otherActions(d: SafetyCaseDetail): TemplateResult | typeof nothing {
    const nullify = d.actions.includes('nullify');
    const unblind = d.actions.includes('unblind');
    if (!nullify && !unblind && !d.treatment) return nothing;
    return html`<section class="panel" aria-labelledby="other-title">
      <h2 id="other-title">Nullification and unblinding</h2>
      ${d.nullification_reason ? html`<p>Nullified: ${d.nullification_reason}</p>` : nothing}
      <div class="toolbar">
        ${nullify
          ? html`<button type="button" ?disabled=${this.busy} @click=${() => void this.withReason('safety.nullify', `Nullify case ${d.case}`,
              'Nullifying withdraws the case: every destination that received it is owed a nullification report. Why?', `Case ${d.case} nullified`)}>Nullify…</button>`
          : nothing}
        ${unblind
          ? html`<button type="button" ?disabled=${this.busy} @click=${() => void this.withReason('safety.unblind', `Unblind case ${d.case}`,
              'Unblinding shows you this subject\'s treatment, for expedited reporting only. It is audited: your name, the time and this reason are kept. The rest of the study stays blind. Why?',
              `Case ${d.case} unblinded`)}>Unblind…</button>`
          : nothing}
      </div>
      ${unblind ? html`<p class="hint">Unblinding is recorded in the audit trail with your reason.</p>` : nothing}
      ${d.treatment
        ? html`<div class="unblinded panel">
            <h3>Treatment (unblinded for this case)</h3>
            <ul>${d.treatment.map((t) => html`<li>${t.label ?? t.item}: ${showValue(t.value)} <span class="where">${visitName(this.ctx, t.visit)}</span></li>`)}</ul>
          </div>`
        : nothing}
    </section>`;
  }

  private toldSection(): TemplateResult | typeof nothing {
    if (!this.told && !this.toldError) return nothing;
    const told = this.told ?? [];
    return html`<section class="panel" aria-labelledby="told-title">
      <h2 id="told-title">Who was told of the unblinding</h2>
      ${errorBox(this.toldError)}
      ${this.told && !told.length
        ? html`<p>No one yet: the study names no unblinded contacts, or the notifier has not met this unblinding (it runs
            beside the server with <code>--smtp</code>, or as <code>trialcore notify send</code>).</p>`
        : nothing}
      ${told.length
        ? html`<table class="data compact stack case-told">
            <thead><tr><th scope="col">Contact</th><th scope="col">Role</th><th scope="col">E-mail</th><th scope="col">State</th><th scope="col">When</th></tr></thead>
            <tbody>
              ${told.map(
                (n) => html`<tr>
                  <td data-label="Contact">${n.name}</td>
                  <td data-label="Role">${n.role}</td>
                  <td data-label="E-mail">${n.email}</td>
                  <td data-label="State" class=${n.state === 'failed' ? 'overdue' : ''}>${n.state}${n.attempts > 1 ? ` (${n.attempts} attempts)` : ''}
                    ${n.state === 'failed' && n.error ? html`<div class="where">${n.error}; next attempt ${n.next_attempt ? showTime(n.next_attempt) : 'when the notifier runs'}</div>` : nothing}</td>
                  <td data-label="When">${n.updated ? showTime(n.updated) : '—'}</td>
                </tr>`,
              )}
            </tbody>
          </table>`
        : nothing}
    </section>`;
  }

  private history(d: SafetyCaseDetail): TemplateResult {
    return html`<section class="panel" aria-labelledby="history-title">
      <h2 id="history-title">History</h2>
      <table class="data compact stack case-history">
        <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Role</th><th scope="col">What</th><th scope="col">Reason</th></tr></thead>
        <tbody>
          ${d.history.map(
            (h) => html`<tr data-type=${h.type}>
              <td data-label="When">${showTime(h.at)}</td>
              <td data-label="Who">${h.by}</td>
              <td data-label="Role">${ROLE_NAMES[h.role] ?? h.role}</td>
              <td data-label="What">${historyText(h)}</td>
              <td data-label="Reason">${h.reason ?? ''}</td>
            </tr>`,
          )}
        </tbody>
      </table>
    </section>`;
  }

  private fail(message: string): void {
    this.error = message;
    this.message = '';
    this.ctx.update();
    document.querySelector('main .error-box')?.scrollIntoView({ block: 'center' });
  }

  template() {
    const ctx = this.ctx;
    const d = this.detail;
    const crumbs = html`<p class="crumbs"><a href=${studyLink(ctx, '/safety')}>Safety cases</a> › ${this.id}</p>`;
    if (!d) return html`${crumbs}<h1>Safety case ${this.id}</h1>${errorBox(this.error)}${this.error ? nothing : html`<p>Loading…</p>`}`;
    return html`<div class="safety-case">${crumbs}
      <h1>Safety case ${d.case}: ${d.term || '(no term yet)'}</h1>
      <p class="case-summary">
        Stage: <strong data-testid="case-stage" class="stage-${d.stage}">${stageText(d.stage)}</strong> ·
        ${d.state === 'nullification_proposed' ? 'nullification proposed' : d.state}
        ${d.coding ? html` · ${d.coding.pt.name} (${d.coding.soc.name})` : nothing}
        ${d.days_left !== undefined ? html` · <span class=${urgency(d.days_left)}>next report ${daysLeftText(d.days_left)}</span>` : nothing}
        ${d.unblinded ? html` · <span class="badge">unblinded</span>` : nothing}
      </p>
      ${okBox(this.message)} ${errorBox(this.error)}
      ${this.facts(d)} ${this.clocks(d)} ${this.triage(d)} ${this.codingSection(d)} ${this.review(d)} ${this.approval(d)}
      ${this.submissions(d)} ${this.acknowledgement(d)} ${this.otherActions(d)} ${this.toldSection()} ${this.history(d)}</div>`;
  }
}
