// Entering a safety case that does not come from the CRF: a spontaneous
// report (a call from a physician, a pharmacist, a patient) or a literature
// report, as the safety physician takes it in (doc/safety_cases.md, "Direct
// cases"). The server checks every field and names what is missing; the new
// case opens at triage, its clock running from the day it was received.
// The same form, filled in with an entered case's report as it stands, takes
// that case's new information (a follow-up) with the reason for it.
import { html, nothing } from 'lit-html';
import { ApiError, get, studyPath } from '../api';
import { studyLink, type Context, type View } from '../app';
import { runCommand } from '../commands';
import { intakeCommand } from '../safety_intake';
import type { SafetyCaseDetail } from '../types';
import { errorBox } from '../ui';
import { CRITERIA } from './safety';

const QUALIFICATIONS: Record<string, string> = {
  physician: 'Physician',
  pharmacist: 'Pharmacist',
  other_health_professional: 'Other health professional',
  lawyer: 'Lawyer',
  consumer: 'Consumer or patient',
};

const OUTCOMES: Record<string, string> = {
  RECOVERED: 'Recovered',
  RECOVERING: 'Recovering',
  NOT_RECOVERED: 'Not recovered',
  RECOVERED_WITH_SEQUELAE: 'Recovered with sequelae',
  FATAL: 'Fatal',
  UNKNOWN: 'Unknown',
};

type Facts = NonNullable<NonNullable<SafetyCaseDetail['received']>['facts']>;

export class SafetyIntakeView implements View {
  private error = '';
  private busy = false;
  private source = 'spontaneous';
  // New information on an entered case: the report as it stands.
  private facts: Facts | null = null;
  private loadError = '';

  constructor(private ctx: Context, private readonly caseId = '') {
    if (caseId) void this.load();
  }

  title(): string {
    return this.caseId ? 'New information on safety case ' + this.caseId : 'Enter a safety report';
  }

  private caseLink(): string {
    return studyLink(this.ctx, '/safety/cases/' + encodeURIComponent(this.caseId));
  }

  private async load(): Promise<void> {
    try {
      const d = await get<SafetyCaseDetail>(studyPath(this.ctx.study.id) + '/safety/cases/' + encodeURIComponent(this.caseId));
      if (!d.received?.facts) {
        this.loadError = d.received
          ? `Safety case ${this.caseId} was imported: its new information comes as a newer E2B(R3) report.`
          : `Safety case ${this.caseId} comes from the CRF: its new information is entered on the subject's AE log.`;
      } else if (d.state === 'closed' && d.stage === 'nullified') {
        this.loadError = `Safety case ${this.caseId} is nullified; it takes no new information.`;
      } else {
        this.facts = d.received.facts;
        this.source = d.received.source;
      }
    } catch (e) {
      this.loadError = e instanceof ApiError && e.status === 404 ? 'There is no safety case ' + this.caseId + ' that you may see.' : (e as Error).message;
    }
    this.ctx.update();
  }

  private async submit(e: Event): Promise<void> {
    e.preventDefault();
    this.busy = true;
    this.ctx.update();
    const command = intakeCommand(new FormData(e.target as HTMLFormElement), this.caseId);
    const outcome = await runCommand(this.ctx.study.id, command, this.caseId ? 'New information recorded' : 'Report entered');
    this.busy = false;
    this.error = outcome.error;
    const id = (outcome.reply?.result as { case?: string } | undefined)?.case;
    if (!outcome.error && id) {
      this.ctx.navigate(studyLink(this.ctx, '/safety/cases/' + encodeURIComponent(id)));
      return;
    }
    this.ctx.update();
    if (outcome.error) document.querySelector('main .error-box')?.scrollIntoView({ block: 'center' });
  }

  template() {
    const today = new Date().toISOString().slice(0, 10);
    const heading = this.title();
    if (this.ctx.role !== 'safety_physician') {
      return html`<h1>${heading}</h1><p>Only the safety physician enters safety reports.</p>`;
    }
    if (this.caseId && !this.facts) {
      return html`<h1>${heading}</h1>
        ${this.loadError ? html`${errorBox(this.loadError)}<p><a href=${this.caseLink()}>Back to the case</a></p>` : html`<p>Loading…</p>`}`;
    }
    const f = this.facts;
    const who = f?.reporter;
    const ev = f?.event;
    return html`<h1>${heading}</h1>
      ${f
        ? html`<p class="hint">The report as it stands; change what the new information changes and say why. A case
            approved already starts its next version, and every destination that received it is owed a follow-up.
            <a href=${this.caseLink()}>Back to the case</a></p>`
        : html`<p class="hint">A serious adverse event reported outside the study's CRF. Its reporting clock runs from
            the day it was received. Serious adverse events of the study's subjects are entered on their AE log instead.</p>`}
      ${this.error ? errorBox(this.error) : nothing}
      <form class="panel intake" @submit=${(e: Event) => void this.submit(e)}>
        <fieldset>
          <legend>The report</legend>
          ${f
            ? html`<input type="hidden" name="source" .value=${f.source ?? this.source} />
                <input type="hidden" name="received" .value=${f.received ?? ''} />
                <p>${this.source === 'literature' ? 'Literature report' : 'Spontaneous report'}, received on ${f.received}</p>`
            : html`<label>Source
                  <select name="source" @change=${(e: Event) => { this.source = (e.target as HTMLSelectElement).value; this.ctx.update(); }}>
                    <option value="spontaneous" ?selected=${this.source === 'spontaneous'}>Spontaneous report</option>
                    <option value="literature" ?selected=${this.source === 'literature'}>Literature report</option>
                  </select></label>
                <label>Received on <input type="date" name="received" required max=${today} value=${today} /></label>`}
          ${this.source === 'literature'
            ? html`<label>Reference (the article) <input name="reference" required .value=${f?.reference ?? ''} /></label>`
            : nothing}
        </fieldset>
        <fieldset>
          <legend>Reporter</legend>
          <label>Qualification
            <select name="qualification" required>
              <option value="">Choose</option>
              ${Object.entries(QUALIFICATIONS).map(([v, label]) => html`<option value=${v} ?selected=${who?.qualification === v}>${label}</option>`)}
            </select></label>
          <label>Given name <input name="given" .value=${who?.given ?? ''} /></label>
          <label>Family name <input name="family" .value=${who?.family ?? ''} /></label>
          <label>Country (two letters) <input name="country" maxlength="2" size="3" .value=${who?.country ?? ''} /></label>
          <label>E-mail <input type="email" name="email" .value=${who?.email ?? ''} /></label>
        </fieldset>
        <fieldset>
          <legend>Patient</legend>
          <label>Sex <select name="sex"><option value="">Not known</option>
            <option value="F" ?selected=${f?.patient?.sex === 'F'}>Female</option>
            <option value="M" ?selected=${f?.patient?.sex === 'M'}>Male</option></select></label>
          <label>Age (years) <input name="age" inputmode="numeric" size="4" .value=${f?.patient?.age ?? ''} /></label>
        </fieldset>
        <fieldset>
          <legend>The event</legend>
          <label>Event, as reported <input name="term" required .value=${ev?.term ?? ''} /></label>
          <label>Onset <input type="date" name="onset" max=${today} .value=${ev?.onset ?? ''} /></label>
          <label>Outcome
            <select name="outcome"><option value="">Not known</option>
              ${Object.entries(OUTCOMES).map(([v, label]) => html`<option value=${v} ?selected=${ev?.outcome === v}>${label}</option>`)}
            </select></label>
          <fieldset class="criteria">
            <legend>Why it is serious (at least one)</legend>
            ${Object.entries(CRITERIA).map(
              ([v, label]) => html`<label><input type="checkbox" name="criteria" value=${v} .checked=${ev?.criteria?.includes(v) ?? false} /> ${label}</label>`,
            )}
          </fieldset>
          <label>The reporter's causality
            <select name="causality"><option value="">Not given</option>
              <option value="related" ?selected=${f?.causality === 'related'}>Related</option>
              <option value="not_related" ?selected=${f?.causality === 'not_related'}>Not related</option></select></label>
          <label>Suspect product <input name="product" placeholder="the study's product" .value=${f?.product ?? ''} /></label>
          <label>Narrative <textarea name="narrative" rows="4" .value=${f?.narrative ?? ''}></textarea></label>
        </fieldset>
        ${f
          ? html`<label>Reason for the change <input name="reason" required placeholder="what the new information is and where it came from" /></label>`
          : nothing}
        <button type="submit" ?disabled=${this.busy}>${f ? 'Record the new information' : 'Enter the report'}</button>
      </form>`;
  }
}
