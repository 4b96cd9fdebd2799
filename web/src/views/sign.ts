// Electronic signatures: the dialog that takes the user id and password
// (21 CFR 11.200) for a signature and for a database lock or unlock, and the
// signing dialog, which says what is being signed; the signature then shows
// name, UTC time and meaning.
import { html, nothing, type TemplateResult } from 'lit-html';
import { ApiError, get, post, studyPath, subjectPath } from '../api';
import { formName, itemLabel, visitName, type Context } from '../app';
import { nothingOutstanding, signingSummary, type SigningScope } from '../signing_summary';
import type { CommandReply, ScheduleVisit, Subject } from '../types';
import { announce, errorBox, openDialog } from '../ui';

export interface ESignature {
  title: string;
  // What is signed and what the user should know first, above the fields.
  intro: TemplateResult;
  // Fields of the command besides the signature's own (a meaning...).
  fields?: TemplateResult;
  action: string; // the submit button's words
  // Posts the command with the form's fields; throws to show why it was refused.
  send(value: (name: string) => string): Promise<void>;
}

export async function eSignatureDialog(ctx: Context, e: ESignature): Promise<boolean> {
  let error = '';
  const done = await openDialog<boolean>(e.title, (close, rerender) => {
    const submit = async (ev: Event) => {
      ev.preventDefault();
      const f = ev.target as HTMLFormElement;
      try {
        await e.send((name: string) => (f.elements.namedItem(name) as HTMLInputElement).value);
        announce('Signed');
        close(true);
      } catch (err) {
        error = err instanceof ApiError && err.status === 403 ? 'Signature refused: ' + err.message : (err as Error).message;
        rerender();
      }
    };
    return html`<form @submit=${submit}>
      ${e.intro}
      ${e.fields ?? nothing}
      <label for="sign-user">User name</label>
      <input id="sign-user" name="user" value=${ctx.me.user} autocomplete="username" required />
      <label for="sign-password">Password</label>
      <input id="sign-password" name="password" type="password" autocomplete="current-password" required autofocus />
      <p class="muted">
        Your electronic signature is the legally binding equivalent of your handwritten signature. It is recorded with
        your name, the time and its meaning.
      </p>
      ${errorBox(error)}
      <div class="actions">
        <button type="button" @click=${() => close(null)}>Cancel</button>
        <button type="submit" class="primary">${e.action}</button>
      </div>
    </form>`;
  });
  return !!done;
}

export async function signDialog(
  ctx: Context,
  scope: { subject: string; visit?: string; form?: string },
  what: string,
  summary: TemplateResult | typeof nothing = nothing,
): Promise<boolean> {
  return eSignatureDialog(ctx, {
    title: 'Electronic signature',
    intro: html`<p>You are signing <strong>${what}</strong> as <strong>${ctx.me.full_name}</strong>.</p>
      ${summary}`,
    fields: html`<label for="sign-meaning">Meaning of this signature</label>
      <select id="sign-meaning" name="meaning">
        <option value="approval">Approval — I approve the data as true and complete</option>
        <option value="review">Review — I have reviewed the data</option>
        <option value="authorship">Authorship — I am the author of the data</option>
      </select>
      <p class="muted">The signature is bound to the data as they are now; any later change to them breaks it.</p>`,
    action: 'Sign',
    send: async (value) => {
      await post<CommandReply>(studyPath(ctx.study.id) + '/commands', {
        op: 'sign',
        ...scope,
        meaning: value('meaning'),
        user: value('user'),
        password: value('password'),
      });
    },
  });
}

// What the signature would cover that is not finished, in the study's words,
// read fresh from the server when the dialog opens.
export async function signingSummaryBox(ctx: Context, subject: string, scope: SigningScope): Promise<TemplateResult> {
  const base = subjectPath(ctx.study.id, subject);
  const [casebook, schedule] = await Promise.all([get<Subject>(base), get<{ visits: ScheduleVisit[] }>(base + '/schedule')]);
  const s = signingSummary(casebook, schedule.visits, scope);
  if (nothingOutstanding(s)) {
    return html`<p class="signing-summary ok" data-summary="clear">Nothing is open, missing or unverified in what you sign.</p>`;
  }
  const at = (visit: string, form: string) => `${formName(ctx, form)} at ${visitName(ctx, visit)}`;
  const section = (key: string, title: string, lines: string[]) =>
    lines.length
      ? html`<h3>${title} (${lines.length})</h3>
          <ul data-summary=${key}>${lines.slice(0, 10).map((l) => html`<li>${l}</li>`)}${lines.length > 10 ? html`<li>and ${lines.length - 10} more</li>` : nothing}</ul>`
      : nothing;
  // It scrolls when long: focusable, so that the keyboard can scroll it too (WCAG 2.1.1).
  return html`<section class="signing-summary" aria-labelledby="summary-title" tabindex="0">
    <h3 id="summary-title">Before you sign: not finished in what you sign</h3>
    ${section('queries', 'Queries still open or answered', s.queries.map((q) => `Query ${q.query} (${q.state}) on ${itemLabel(ctx, q.form, q.item)}, ${at(q.visit, q.form)}`))}
    ${section('visits', 'Visits due with nothing entered', s.visitsNotStarted.map((v) => visitName(ctx, v)))}
    ${section('missing', 'Forms not started', s.formsNotStarted.map((f) => at(f.visit, f.form)))}
    ${section('incomplete', 'Forms incomplete', s.formsIncomplete.map((f) => at(f.visit, f.form)))}
    ${section('unverified', 'Forms not source-verified', s.formsUnverified.map((f) => `${at(f.visit, f.form)}: ${f.items} ${f.items === 1 ? 'item' : 'items'} unverified`))}
    <p class="muted">You may still sign; the signature then covers the data as they are.</p>
  </section>`;
}
