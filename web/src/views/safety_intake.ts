// Entering a safety case that does not come from the CRF: a spontaneous
// report (a call from a physician, a pharmacist, a patient) or a literature
// report, as the safety physician takes it in (doc/safety_cases.md, "Direct
// cases"). The server checks every field and names what is missing; the new
// case opens at triage, its clock running from the day it was received.
import { html, nothing } from 'lit-html';
import { studyLink, type Context, type View } from '../app';
import { runCommand } from '../commands';
import { intakeCommand } from '../safety_intake';
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

export class SafetyIntakeView implements View {
  private error = '';
  private busy = false;
  private source = 'spontaneous';

  constructor(private ctx: Context) {}

  title(): string {
    return 'Enter a safety report';
  }

  private async submit(e: Event): Promise<void> {
    e.preventDefault();
    this.busy = true;
    this.ctx.update();
    const outcome = await runCommand(this.ctx.study.id, intakeCommand(new FormData(e.target as HTMLFormElement)),
      'Report entered');
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
    if (this.ctx.role !== 'safety_physician') {
      return html`<h1>Enter a safety report</h1><p>Only the safety physician enters safety reports.</p>`;
    }
    return html`<h1>Enter a safety report</h1>
      <p class="hint">A serious adverse event reported outside the study's CRF. Its reporting clock runs from the day
        it was received. Serious adverse events of the study's subjects are entered on their AE log instead.</p>
      ${this.error ? errorBox(this.error) : nothing}
      <form class="panel intake" @submit=${(e: Event) => void this.submit(e)}>
        <fieldset>
          <legend>The report</legend>
          <label>Source
            <select name="source" @change=${(e: Event) => { this.source = (e.target as HTMLSelectElement).value; this.ctx.update(); }}>
              <option value="spontaneous" ?selected=${this.source === 'spontaneous'}>Spontaneous report</option>
              <option value="literature" ?selected=${this.source === 'literature'}>Literature report</option>
            </select></label>
          <label>Received on <input type="date" name="received" required max=${today} value=${today} /></label>
          ${this.source === 'literature'
            ? html`<label>Reference (the article) <input name="reference" required /></label>`
            : nothing}
        </fieldset>
        <fieldset>
          <legend>Reporter</legend>
          <label>Qualification
            <select name="qualification" required>
              <option value="">Choose</option>
              ${Object.entries(QUALIFICATIONS).map(([v, label]) => html`<option value=${v}>${label}</option>`)}
            </select></label>
          <label>Given name <input name="given" /></label>
          <label>Family name <input name="family" /></label>
          <label>Country (two letters) <input name="country" maxlength="2" size="3" /></label>
          <label>E-mail <input type="email" name="email" /></label>
        </fieldset>
        <fieldset>
          <legend>Patient</legend>
          <label>Sex <select name="sex"><option value="">Not known</option><option value="F">Female</option><option value="M">Male</option></select></label>
          <label>Age (years) <input name="age" inputmode="numeric" size="4" /></label>
        </fieldset>
        <fieldset>
          <legend>The event</legend>
          <label>Event, as reported <input name="term" required /></label>
          <label>Onset <input type="date" name="onset" max=${today} /></label>
          <label>Outcome
            <select name="outcome"><option value="">Not known</option>
              ${Object.entries(OUTCOMES).map(([v, label]) => html`<option value=${v}>${label}</option>`)}
            </select></label>
          <fieldset class="criteria">
            <legend>Why it is serious (at least one)</legend>
            ${Object.entries(CRITERIA).map(
              ([v, label]) => html`<label><input type="checkbox" name="criteria" value=${v} /> ${label}</label>`,
            )}
          </fieldset>
          <label>The reporter's causality
            <select name="causality"><option value="">Not given</option><option value="related">Related</option>
              <option value="not_related">Not related</option></select></label>
          <label>Suspect product <input name="product" placeholder="the study's product" /></label>
          <label>Narrative <textarea name="narrative" rows="4"></textarea></label>
        </fieldset>
        <button type="submit" ?disabled=${this.busy}>Enter the report</button>
      </form>`;
  }
}
