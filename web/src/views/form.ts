// Form entry, review and verification. What the user types is a draft until
// saved; the form's edit checks run on the draft as it is typed (form.check)
// and their messages stand next to their items. A change of a stored value
// asks for its reason; "not done" takes one. A failed save or an ended
// session keeps the draft. Monitors verify items or the whole form and see
// what changed since they verified it; queries are raised, answered and
// closed on their items.
import { html, nothing, type TemplateResult } from 'lit-html';
import { ApiError, formPath, get, post, request, subjectPath } from '../api';
import { mayShowCodes, setShowCodes, showCodes } from '../codes';
import { codingCell, isAdverseEventGroup } from '../ae_coding';
import { raisedByText, unresolved } from '../query_states';
import { runCommand } from '../commands';
import { formLink, formName, itemLabel, subjectLink, visitName, type Context, type View } from '../app';
import { can } from '../roles';
import type {
  CheckResult, CommandReply, FormDef, FormReply, GroupDef, ItemDef, ItemState, JsonValue, Problem, Query,
  SaveResult, Signature, Subject, VerifyResult,
} from '../types';
import { label, rangeText, showItemValue, showTime } from '../format';
import { dateInput, type DateKind } from '../date_input';
import { readWholeAuditTrail } from '../audit_trail';
import { announce, askChangeReason, askReason, confirmAction, errorBox, okBox } from '../ui';
import { changedSinceVerification } from '../verification';
import { readOnlyNote } from '../read_only';
import { signatureLine } from './casebook';
import { signDialog, signingSummaryBox } from './sign';

type Input = string | string[] | null;

// A warning the site confirmed and whose query is answered, closed or
// cancelled: shown as that state, no longer as something to act on.
function settled(p: Problem): boolean {
  return !p.hard && !!p.query_state && p.query_state !== 'open';
}

interface RowDraft {
  row: number | null; // null: a new row, numbered by the server when saved
  key: string;
  items: Record<string, Input>;
}

function toInput(v: JsonValue | undefined): Input {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return v.map((x) => String(x));
  return String(v);
}

function sameInput(a: Input, b: Input): boolean {
  return JSON.stringify(a ?? '') === JSON.stringify(b ?? '');
}

export class FormView implements View {
  private def: FormDef | undefined;
  private state: FormReply | null = null;
  private subject: Subject | null = null;
  private etag: string | null = null;
  private items: Record<string, Input> = {};
  private notDone: Record<string, string> = {};
  private rows: Record<string, RowDraft[]> = {};
  private newRows = 0;
  private check: CheckResult | null = null;
  private checkTimer = 0;
  private checkSeq = 0;
  private error = '';
  private message = '';
  private saving = false;
  private openThread: number | null;
  private raising: string | null = null; // item key whose "raise a query" box is open
  private resetSinceVerified = new Map<string, JsonValue>(); // item → the value that was verified
  private changeSigned = false; // the user chose to change data a valid signature covers
  private timer = 0;

  constructor(
    private readonly ctx: Context,
    private readonly subjectId: string,
    private readonly visit: string,
    private readonly formId: string,
    query: URLSearchParams,
  ) {
    this.def = ctx.definition.forms.find((f) => f.id === formId);
    const q = query.get('query');
    this.openThread = q ? Number(q) : null;
    void this.load(true);
  }

  title(): string {
    return `${formName(this.ctx, this.formId)} — ${visitName(this.ctx, this.visit)} — ${this.subjectId}`;
  }

  private get path(): string {
    return formPath(this.ctx.study.id, this.subjectId, this.visit, this.formId);
  }

  // The server's reason first (locks, freezes, a missed visit); then a valid
  // signature over the form, whose data stay read only until the user
  // chooses to change them (and so to break it).
  private editable(): boolean {
    return !!this.def && can.enterForm(this.ctx.role, this.def) && !!this.state && !this.state.read_only &&
      !this.waitsForVisitDate() && (this.changeSigned || !this.validSignatures().length);
  }

  // The signatures covering this form, and those of them still valid.
  private signatures(): Signature[] {
    return (this.subject?.signatures ?? []).filter(
      (s) => (!s.visit || s.visit === this.visit) && (!s.form || s.form === this.formId),
    );
  }

  // A locked database refuses every command: queries and verification too.
  private databaseLocked(): boolean {
    return this.state?.read_only === 'database_locked';
  }

  private validSignatures(): Signature[] {
    return this.signatures().filter((s) => !s.broken);
  }

  private async changeSignedData(): Promise<void> {
    const names = this.validSignatures().map((s) => s.signer_name).join(', ');
    const ok = await confirmAction(
      'Change signed data',
      `This form is covered by the signature of ${names}. Saving a change breaks the signature, and it must be signed again.`,
      'Change data',
    );
    if (!ok) return;
    this.changeSigned = true;
    this.scheduleCheck(0);
    this.ctx.update();
  }

  // The study takes no form of a visit before its date (the server refuses
  // the save): true while this visit collects the date and has none yet.
  private waitsForVisitDate(): boolean {
    const date = this.ctx.definition.visit_date;
    if (!date.first || this.formId === date.form || !this.subject) return false;
    const base = this.visit.split('#')[0];
    if (!this.ctx.definition.visits.find((v) => v.id === base)?.forms.includes(date.form)) return false;
    const value = this.subject.visits[this.visit]?.forms[date.form]?.items[date.item]?.value;
    return value === null || value === undefined || value === '';
  }

  private visitDateNotice(): TemplateResult | typeof nothing {
    const ctx = this.ctx;
    if (!this.waitsForVisitDate() || !this.def || !can.enterForm(ctx.role, this.def)) return nothing;
    const date = ctx.definition.visit_date;
    return html`<div class="notice" role="status" id="visit-date-first">
      Enter the date of ${visitName(ctx, this.visit)} first: this study takes no other form of a visit before its date.
      <a href=${formLink(ctx, this.subjectId, this.visit, date.form)}>Enter the ${itemLabel(ctx, date.form, date.item).toLowerCase()} (${formName(ctx, date.form)})</a>
    </div>`;
  }

  unsaved(): boolean {
    return Object.keys(this.items).length > 0 || Object.keys(this.notDone).length > 0 ||
      Object.values(this.rows).some((rows) => rows.some((r) => Object.keys(r.items).length > 0));
  }

  private async load(first = false): Promise<void> {
    try {
      const [form, subject] = await Promise.all([
        request<FormReply>('GET', this.path),
        get<Subject>(subjectPath(this.ctx.study.id, this.subjectId)),
      ]);
      this.state = form.data;
      this.etag = form.etag;
      this.subject = subject;
      if (first) this.error = '';
      if (can.verify(this.ctx.role)) await this.loadVerificationHistory();
      if (this.editable()) this.scheduleCheck(0);
    } catch (e) {
      this.error = e instanceof ApiError && e.status === 404 ? 'This form does not exist for you.' : (e as Error).message;
    }
    this.ctx.update();
  }

  // For monitors: items whose verification a later change reset, with the
  // value they had when verified (replayed from the form's audit trail).
  private async loadVerificationHistory(): Promise<void> {
    const prefix = `subject/${this.subjectId}/${this.visit}/${this.formId}/`;
    const entries = await readWholeAuditTrail(this.ctx.study.id, this.subjectId, new URLSearchParams({ path: prefix.slice(0, -1) }));
    this.resetSinceVerified = changedSinceVerification(entries, prefix);
  }

  live(e: { stream: string; type: string }): void {
    // The study's own stream: a database lock or unlock changes what may be done here.
    if ((e.stream !== 'subject/' + this.subjectId && e.stream !== 'study') || this.saving) return;
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => {
      // Another user's change: the new state shows, the draft stays.
      void this.load();
    }, 300);
  }

  dispose(): void {
    window.clearTimeout(this.timer);
    window.clearTimeout(this.checkTimer);
  }

  // ---- the draft ----------------------------------------------------------

  private stored(item: string): ItemState | undefined {
    return this.state?.items[item];
  }

  private current(item: ItemDef): Input {
    if (item.id in this.items) return this.items[item.id];
    if (item.derive && this.check && item.id in this.check.derived) return toInput(this.check.derived[item.id]);
    return toInput(this.stored(item.id)?.value);
  }

  private setItem(item: ItemDef, value: Input): void {
    if (sameInput(value, toInput(this.stored(item.id)?.value)) && !(item.id in this.notDone)) delete this.items[item.id];
    else this.items[item.id] = value;
    delete this.notDone[item.id];
    this.message = '';
    this.scheduleCheck(250);
    this.ctx.update();
  }

  private setRowItem(group: string, row: RowDraft, item: ItemDef, value: Input): void {
    const stored = row.row === null ? undefined : this.state?.rows[group]?.find((r) => r.row === row.row)?.items[item.id];
    if (sameInput(value, toInput(stored?.value))) delete row.items[item.id];
    else row.items[item.id] = value;
    this.message = '';
    this.scheduleCheck(250);
    this.ctx.update();
  }

  private groupRows(g: GroupDef): RowDraft[] {
    if (!this.rows[g.id]) {
      this.rows[g.id] = (this.state?.rows[g.id] ?? []).map((r) => ({ row: r.row, key: 'r' + r.row, items: {} }));
    }
    return this.rows[g.id];
  }

  private proposal(): Record<string, unknown> {
    const body: Record<string, unknown> = {};
    const items: Record<string, Input> = {};
    for (const [k, v] of Object.entries(this.items)) items[k] = v === '' ? null : v;
    if (Object.keys(items).length) body.items = items;
    if (Object.keys(this.notDone).length) body.not_done = { ...this.notDone };
    const rows: unknown[] = [];
    for (const [group, list] of Object.entries(this.rows)) {
      for (const r of list) {
        if (!Object.keys(r.items).length) continue;
        const items: Record<string, Input> = {};
        for (const [k, v] of Object.entries(r.items)) items[k] = v === '' ? null : v;
        rows.push(r.row === null ? { group, items } : { group, row: r.row, items });
      }
    }
    if (rows.length) body.rows = rows;
    return body;
  }

  private scheduleCheck(delay: number): void {
    window.clearTimeout(this.checkTimer);
    this.checkTimer = window.setTimeout(() => void this.runCheck(), delay);
  }

  private async runCheck(): Promise<void> {
    if (!this.editable()) return;
    const seq = ++this.checkSeq;
    try {
      const r = await post<CommandReply<CheckResult>>(this.path + '/check', this.proposal());
      if (seq !== this.checkSeq) return; // a newer check is on its way
      this.check = r.result;
      const problems = r.result.problems.filter((p) => !settled(p)).length;
      if (problems) announce(`${problems} ${problems === 1 ? 'problem' : 'problems'} on this form`);
    } catch (e) {
      if (seq === this.checkSeq) this.error = (e as Error).message;
    }
    this.ctx.update();
  }

  // Whether the draft gives this item a value (a soft check on it then opens a query).
  private typed(item: string): boolean {
    return item in this.items || Object.values(this.rows).some((rows) => rows.some((r) => item in r.items));
  }

  // ---- actions ------------------------------------------------------------

  private async save(e: Event): Promise<void> {
    e.preventDefault();
    if (!this.unsaved()) {
      this.message = 'Nothing to save.';
      return this.ctx.update();
    }
    window.clearTimeout(this.checkTimer);
    await this.runCheck();
    const hard = this.check?.problems.filter((p) => p.hard) ?? [];
    if (hard.length) {
      this.error = 'Not saved: ' + hard.map((p) => p.message).join(' ');
      this.ctx.update();
      document.getElementById('problem-summary')?.focus();
      return;
    }
    const body = this.proposal();
    const changes = this.check?.needs_reason ?? [];
    if (changes.length) {
      const reason = await askChangeReason(
        'Reason for change',
        'You are changing data already saved: ' + changes.map((c) => this.reasonText(c)).join('; ') + '. Why?',
        this.ctx.definition.reasons_for_change,
      );
      if (reason === null) return;
      body.reason = reason;
    }
    this.saving = true;
    try {
      const r = await request<CommandReply<SaveResult>>('PATCH', this.path, body, { ifMatch: this.etag });
      this.items = {};
      this.notDone = {};
      this.rows = {};
      this.message = this.savedText(r.data);
      this.error = '';
      announce('Saved');
      await this.load();
    } catch (err) {
      if (err instanceof ApiError && err.status === 412) {
        this.error =
          'Someone else changed this subject since you opened the form. What you typed is kept; review the current values and save again.';
        await this.load();
      } else {
        this.error = (err as Error).message;
      }
    } finally {
      this.saving = false;
    }
    this.ctx.update();
  }

  // What a save did, in sentences with the study's names; the server's own
  // messages (with their codes) only for those who show codes.
  private savedText(reply: CommandReply<SaveResult>): string {
    const ctx = this.ctx;
    const r = reply.result;
    const where = (q: { form: string; item: string; row?: number }) =>
      itemLabel(ctx, q.form, q.item) + (q.row ? ` (row ${q.row})` : '');
    const out = [`Saved ${formName(ctx, this.formId)} at ${visitName(ctx, this.visit)} for subject ${this.subjectId}.`];
    if (r && typeof r === 'object' && Array.isArray(r.queries_opened)) {
      for (const q of r.queries_opened) out.push(`Query ${q.query} opened on ${where(q)}: ${q.message ?? ''}`);
      for (const q of r.queries_closed) out.push(`Query ${q.query} on ${where(q)} closed: the data now pass its check.`);
      const reset = (r.verification_reset ?? []).map((v) => where(v));
      if (reset.length) out.push(`Verified before, now to be verified again: ${reset.join(', ')}.`);
      for (const g of r.signatures_broken) {
        out.push(`The signature of ${g.signer_name} (${g.meaning}) is broken by this change; it must be signed again.`);
      }
      for (const c of r.safety_cases ?? []) {
        out.push(
          c.action === 'opened'
            ? `Row ${c.row} is a serious adverse event: safety case ${c.case} is opened and the safety team is told; its reporting clock runs from today.`
            : `Safety case ${c.case} receives this change of row ${c.row} as follow-up information.`,
        );
      }
    }
    if (showCodes(ctx)) out.push(`[${reply.messages.join(' · ')}]`);
    return out.join(' ');
  }

  // "SYSBP from 120 to 130" → "Systolic blood pressure from 120 to 130"
  private reasonText(change: string): string {
    if (showCodes(this.ctx)) return change;
    const space = change.indexOf(' ');
    const id = space < 0 ? change : change.slice(0, space);
    return itemLabel(this.ctx, this.formId, id) + (space < 0 ? '' : change.slice(space));
  }

  private async markNotDone(item: ItemDef): Promise<void> {
    const reason = await askReason(`${item.label}: not done`, 'Why was this not done?');
    if (reason === null) return;
    delete this.items[item.id];
    this.notDone[item.id] = reason;
    this.scheduleCheck(0);
    this.ctx.update();
  }

  // afterSave: what the page drops once the command is saved, before it is
  // drawn again (so that the page never shows the state before the command).
  private async command(body: Record<string, unknown>, done: string, afterSave?: () => void): Promise<void> {
    const outcome = await runCommand(this.ctx.study.id, body, done);
    if (!outcome.error) {
      await this.load();
      afterSave?.();
    }
    ({ message: this.message, error: this.error } = outcome);
    this.ctx.update();
  }

  private async removeRow(group: GroupDef, row: RowDraft): Promise<void> {
    if (row.row === null) {
      this.rows[group.id] = this.rows[group.id].filter((r) => r !== row);
      this.scheduleCheck(0);
      return this.ctx.update();
    }
    const reason = await askChangeReason(
      `Remove ${group.label ? group.label + ' ' : ''}row ${row.row}`,
      'The row stays in the audit trail. Why remove it?',
      this.ctx.definition.reasons_for_change,
    );
    if (reason === null) return;
    await this.command(
      { op: 'row.remove', subject: this.subjectId, visit: this.visit, form: this.formId, group: group.id, row: row.row, reason },
      `Row ${row.row} removed`,
      () => delete this.rows[group.id],
    );
  }

  private async queryAction(q: Query, action: string): Promise<void> {
    let message = '';
    const box = document.getElementById(`reply-${q.query}`) as HTMLTextAreaElement | null;
    message = box?.value.trim() ?? '';
    if ((action === 'answer' || action === 'cancel' || action === 'reopen') && !message) {
      this.error = `Write a message to ${action} query ${q.query}.`;
      return this.ctx.update();
    }
    try {
      await post(subjectPath(this.ctx.study.id, this.subjectId) + `/queries/${q.query}/${action}`, message ? { message } : {});
      this.message = `Query ${q.query}: ${action === 'reopen' ? 're-opened' : action + (action.endsWith('e') ? 'd' : 'ed')}`;
      this.error = '';
      announce(this.message);
      await this.load();
    } catch (e) {
      this.error = (e as Error).message;
      this.ctx.update();
    }
  }

  private async raiseQuery(item: string, group: string, row: number | null): Promise<void> {
    const box = document.getElementById(`raise-${item}`) as HTMLTextAreaElement | null;
    const message = box?.value.trim() ?? '';
    if (!message) {
      this.error = 'Write the question for the site.';
      return this.ctx.update();
    }
    const body: Record<string, unknown> = { visit: this.visit, form: this.formId, item, message };
    if (row !== null) {
      body.group = group;
      body.row = row;
    }
    try {
      const r = await post<CommandReply<{ query?: number }>>(subjectPath(this.ctx.study.id, this.subjectId) + '/queries', body);
      this.raising = null;
      this.message = 'Query raised';
      this.openThread = r.result?.query ?? null;
      await this.load();
    } catch (e) {
      this.error = (e as Error).message;
      this.ctx.update();
    }
  }

  // What verifying the whole form would do, as the server decides it:
  // entered items not yet verified, less derived ones (computed, not
  // copied from a source) and those whose query awaits the site.
  private verificationPlan(): { verify: string[]; waiting: string[]; derived: string[] } {
    const out = { verify: [] as string[], waiting: [] as string[], derived: [] as string[] };
    const where = (item: string, row: number | null) =>
      itemLabel(this.ctx, this.formId, item) + (row !== null ? ` (row ${row})` : '');
    const consider = (item: string, st: ItemState, group: string, row: number | null) => {
      if (st.verified || (st.value === null && !st.not_done)) return;
      const def = (this.def?.groups ?? []).flatMap((g) => g.items).find((i) => i.id === item);
      if (def?.derive) return void out.derived.push(where(item, row));
      const open = this.queriesFor(item, group, row).find((q) => q.state === 'open');
      if (open) out.waiting.push(`${where(item, row)} (query ${open.query})`);
      else out.verify.push(where(item, row));
    };
    if (!this.state) return out;
    for (const [item, st] of Object.entries(this.state.items)) consider(item, st, '', null);
    for (const [group, rows] of Object.entries(this.state.rows)) {
      for (const r of rows) for (const [item, st] of Object.entries(r.items)) consider(item, st, group, r.row);
    }
    return out;
  }

  private async verify(items?: string[]): Promise<void> {
    const body: Record<string, unknown> = { op: 'sdv.verify', subject: this.subjectId, visit: this.visit, form: this.formId };
    if (items) {
      body.items = items;
    } else {
      const plan = this.verificationPlan();
      const waiting = plan.waiting.length
        ? ` Not verified, their query awaits the site: ${plan.waiting.join(', ')}.`
        : '';
      const derived = plan.derived.length ? ` Calculated automatically, not verified: ${plan.derived.join(', ')}.` : '';
      if (!plan.verify.length) {
        this.message = '';
        this.error = `Nothing to verify on this form.${waiting}${derived}`;
        return this.ctx.update();
      }
      const n = plan.verify.length;
      const ok = await confirmAction(
        'Verify the whole form',
        `Verify ${n} ${n === 1 ? 'item' : 'items'} of ${formName(this.ctx, this.formId)} at ${visitName(this.ctx, this.visit)} ` +
          `for subject ${this.subjectId} against the source: ${plan.verify.join(', ')}?${waiting}${derived}`,
        `Verify ${n} ${n === 1 ? 'item' : 'items'}`,
      );
      if (!ok) return;
    }
    const outcome = await runCommand(this.ctx.study.id, body, 'Verified');
    if (!outcome.error) await this.load();
    this.error = outcome.error;
    this.message = outcome.error ? '' : this.verifiedText(outcome.reply?.result as unknown as VerifyResult | undefined);
    this.ctx.update();
  }

  // The server's answer in the study's words: how many were verified, and
  // which waited for their query.
  private verifiedText(r: VerifyResult | undefined): string {
    const where = (e: { item: string; row?: number }) =>
      itemLabel(this.ctx, this.formId, e.item) + (e.row ? ` (row ${e.row})` : '');
    const verified = r?.verified ?? [];
    const out = [verified.length ? `Verified: ${verified.map(where).join(', ')}.` : 'Nothing was verified.'];
    const skipped = r?.skipped ?? [];
    if (skipped.length) {
      out.push(`Not verified, their query awaits the site: ${skipped.map((e) => `${where(e)} (query ${e.query})`).join(', ')}.`);
    }
    return out.join(' ');
  }

  private async control(op: string, verb: string): Promise<void> {
    let reason: string | null = null;
    if (op.includes('.un')) {
      reason = await askReason(`${verb} this form`, `Why ${verb.toLowerCase()} it?`);
      if (reason === null) return;
    }
    const body: Record<string, unknown> = { op, subject: this.subjectId, visit: this.visit, form: this.formId };
    if (reason) body.reason = reason;
    await this.command(body, `Form ${verb.toLowerCase()} done`);
  }

  private async sign(): Promise<void> {
    let summary;
    try {
      summary = await signingSummaryBox(this.ctx, this.subjectId, { visit: this.visit, form: this.formId });
    } catch (e) {
      this.error = (e as Error).message;
      return this.ctx.update();
    }
    const ok = await signDialog(this.ctx, { subject: this.subjectId, visit: this.visit, form: this.formId },
      `${formName(this.ctx, this.formId)} at ${visitName(this.ctx, this.visit)} of subject ${this.subjectId}`, summary);
    if (ok) {
      this.message = 'Form signed';
      await this.load();
    }
  }

  // ---- drawing ------------------------------------------------------------

  // The problems of an item, or of an item of one row (by its number).
  private problemsFor(item: string, group = '', row: number | null = null): Problem[] {
    if (group !== '' && row === null) return [];
    return (this.check?.problems ?? []).filter(
      (p) => p.item === item && (p.group ?? '') === group && (group === '' || p.row === row),
    );
  }

  // The number a row has, or would get once saved (from the last check).
  private rowNumber(group: string, row: RowDraft): number | null {
    if (row.row !== null) return row.row;
    const added = this.groupRows(this.def!.groups.find((g) => g.id === group)!).filter(
      (r) => r.row === null && Object.keys(r.items).length > 0,
    );
    const k = added.indexOf(row);
    return k < 0 ? null : this.check?.new_rows[group]?.[k] ?? null;
  }

  // The queries on an item, or on an item of one row of a repeating group.
  private queriesFor(item: string, group = '', row: number | null = null): Query[] {
    return (this.subject?.queries ?? []).filter(
      (q) => q.visit === this.visit && q.form === this.formId && q.item === item && (q.group ?? '') === group &&
        (group === '' || q.row === row),
    );
  }

  private field(item: ItemDef, id: string, value: Input, onChange: (v: Input) => void, disabled: boolean, described: string): TemplateResult {
    const text = typeof value === 'string' ? value : '';
    const input = (e: Event) => onChange((e.target as HTMLInputElement).value);
    const common = { id, described };
    switch (item.type) {
      case 'choice': {
        const codes = this.ctx.definition.codelists[item.codelist] ?? [];
        return html`<select id=${common.id} aria-describedby=${common.described} ?disabled=${disabled} @change=${input}>
          <option value="" ?selected=${!text}>—</option>
          ${codes.map((c) => html`<option value=${c.code} ?selected=${c.code === text}>${c.label}</option>`)}
        </select>`;
      }
      case 'multi_choice': {
        const codes = this.ctx.definition.codelists[item.codelist] ?? [];
        const chosen = Array.isArray(value) ? value : [];
        const toggle = (code: string, on: boolean) =>
          onChange(on ? [...chosen, code] : chosen.filter((c) => c !== code));
        return html`<fieldset id=${common.id} aria-describedby=${common.described} class="choices">
          <legend class="visually-hidden">${item.label}</legend>
          ${codes.map(
            (c) => html`<label><input type="checkbox" ?disabled=${disabled} .checked=${chosen.includes(c.code)}
              @change=${(e: Event) => toggle(c.code, (e.target as HTMLInputElement).checked)} /> ${c.label}</label>`,
          )}
        </fieldset>`;
      }
      case 'boolean':
        return html`<select id=${common.id} aria-describedby=${common.described} ?disabled=${disabled} @change=${input}>
          <option value="" ?selected=${!text}>—</option>
          <option value="true" ?selected=${text === 'true'}>Yes</option>
          <option value="false" ?selected=${text === 'false'}>No</option>
        </select>`;
      case 'date':
      case 'partial_date':
      case 'datetime':
        return dateInput(item.type as DateKind, common.id, common.described, disabled, text, onChange);
      case 'time':
        return html`<input id=${common.id} type="time" aria-describedby=${common.described} ?disabled=${disabled} .value=${text} @change=${input} />`;
      case 'integer':
      case 'decimal':
        return html`<input id=${common.id} inputmode=${item.type === 'integer' ? 'numeric' : 'decimal'} aria-describedby=${common.described}
          ?disabled=${disabled} .value=${text} @input=${input} size="10" />`;
      default:
        return html`<input id=${common.id} type="text" aria-describedby=${common.described} ?disabled=${disabled} .value=${text}
          @input=${input} />`;
    }
  }

  private messages(problems: Problem[], id: string): TemplateResult {
    return html`<div id=${id} class="item-messages" aria-live="polite">
      ${problems.map((p) =>
        settled(p)
          ? html`<p class="settled" data-query-state=${p.query_state!}>Query ${p.query}: ${p.query_state} · ${p.message}</p>`
          : html`<p class=${p.hard ? 'error' : 'warning'}>${p.hard ? '✖' : '⚠'} ${p.message}${
              p.query ? html` <span class="muted">(query ${p.query}: ${p.query_state})</span>` : nothing}</p>`,
      )}
    </div>`;
  }

  private thread(q: Query): TemplateResult {
    const role = this.ctx.role;
    const open = unresolved(q);
    return html`<div class="thread" role="region" aria-label="Query ${q.query}">
      <ol>
        ${q.thread.map((m, i) => {
          // An edit check's query is opened by the system, after a user's save.
          const check = i === 0 && q.raised_by?.kind === 'edit_check' ? q.raised_by : null;
          return html`<li><span class="muted">${showTime(m.time)} ·
            ${check
              ? html`<span class="raised-by">${raisedByText(check, showCodes(this.ctx))}</span> · ${m.action}, after
                  <a href=${subjectLink(this.ctx, this.subjectId, '/audit?path=' + encodeURIComponent(`subject/${this.subjectId}/${this.visit}/${this.formId}/${q.group ? `${q.group}/${q.row}/` : ''}${q.item}`))}>a save by ${m.user}</a>`
              : html`${m.user} (${label(m.role)}) · ${m.action}`}</span><br />${m.message}</li>`;
        })}
      </ol>
      <label for="reply-${q.query}" class="visually-hidden">Message for query ${q.query}</label>
      ${!this.databaseLocked() && ((can.answerQuery(role) && q.state === 'open') || (can.closeQuery(role) && (open || q.state === 'closed')))
        ? html`<textarea id="reply-${q.query}" rows="2" placeholder="Message"></textarea>`
        : nothing}
      <div class="actions left">
        ${can.answerQuery(role) && q.state === 'open' && !this.databaseLocked()
          ? html`<button type="button" class="primary" @click=${() => void this.queryAction(q, 'answer')}>Answer</button>`
          : nothing}
        ${can.closeQuery(role) && open && !this.databaseLocked()
          ? html`<button type="button" class="primary" @click=${() => void this.queryAction(q, 'close')}>Close query</button>
              <button type="button" @click=${() => void this.queryAction(q, 'cancel')}>Cancel query</button>`
          : nothing}
        ${can.closeQuery(role) && (q.state === 'answered' || q.state === 'closed') && !this.databaseLocked()
          ? html`<button type="button" @click=${() => void this.queryAction(q, 'reopen')}>Re-open</button>`
          : nothing}
      </div>
    </div>`;
  }

  private itemExtras(item: ItemDef, key: string, group: string, row: number | null): TemplateResult {
    const role = this.ctx.role;
    const queries = this.queriesFor(item.id, group, row);
    return html`${queries.map(
        (q) => html`<button type="button" class="query-chip query-${q.state}" aria-expanded=${this.openThread === q.query}
          @click=${() => {
            this.openThread = this.openThread === q.query ? null : q.query;
            this.ctx.update();
          }}>Query ${q.query}: ${q.state}</button>
          ${this.openThread === q.query ? this.thread(q) : nothing}`,
      )}
      ${can.raiseQuery(role) && !this.databaseLocked()
        ? this.raising === key
          ? html`<div class="thread">
              <label for="raise-${item.id}">Question for the site about ${item.label}</label>
              <textarea id="raise-${item.id}" rows="2"></textarea>
              <div class="actions left">
                <button type="button" class="primary" @click=${() => void this.raiseQuery(item.id, group, row)}>Raise query</button>
                <button type="button" @click=${() => ((this.raising = null), this.ctx.update())}>Cancel</button>
              </div>
            </div>`
          : html`<button type="button" class="link small" @click=${() => ((this.raising = key), this.ctx.update())}
              aria-label="Raise query on ${item.label}">Raise query</button>`
        : nothing}`;
  }

  private itemRow(item: ItemDef): TemplateResult {
    if (this.check?.hidden.includes(item.id)) return html``;
    const id = 'item-' + item.id;
    const stored = this.stored(item.id);
    const editable = this.editable() && !item.derive;
    const changed = item.id in this.items || item.id in this.notDone;
    const problems = this.problemsFor(item.id);
    const notDone = this.notDone[item.id] ?? (item.id in this.items ? '' : stored?.not_done ?? '');
    const monitor = can.verify(this.ctx.role);
    const reset = this.resetSinceVerified.has(item.id) && !stored?.verified;
    return html`<div class="item ${changed ? 'changed' : ''} ${problems.some((p) => p.hard) ? 'has-error' : problems.some((p) => !settled(p)) ? 'has-warning' : ''} ${reset ? 'reset' : ''}"
      data-item=${item.id}>
      <label for=${id} class="item-label">${item.label}${item.required ? html`<span class="required" aria-label="required">*</span>` : nothing}
        ${showCodes(this.ctx) ? html`<span class="item-id">${item.id}</span>` : nothing}</label>
      <div class="item-input">
        ${stored?.withheld
          ? html`<span class="withheld" id=${id}>${withheldText(stored)}</span>`
          : notDone
          ? html`<span class="not-done">Not done: ${notDone}</span>
              ${editable ? html`<button type="button" class="link small" @click=${() => this.setItem(item, '')}>Enter a value</button>` : nothing}`
          : html`${this.field(item, id, this.current(item), (v) => this.setItem(item, v), !editable, id + '-msg')}
              ${item.unit ? html`<span class="unit">${item.unit}</span>` : nothing}
              ${item.derive
                ? html`<span class="muted small">${showCodes(this.ctx) ? `derived: ${item.derive}` : 'calculated automatically'}</span>`
                : nothing}
              ${editable && !item.derive
                ? html`<button type="button" class="link small" @click=${() => void this.markNotDone(item)}>Not done…</button>`
                : nothing}`}
        <span class="hint">${rangeText(item)}</span>
        ${this.messages(problems, id + '-msg')}
      </div>
      <div class="item-status">
        ${stored?.verified ? html`<span class="badge verified">✓ verified</span>` : nothing}
        ${reset
          ? html`<span class="badge reset" title="verified value: ${showItemValue(item.type, this.resetSinceVerified.get(item.id))}">changed since verification (was ${showItemValue(item.type, this.resetSinceVerified.get(item.id)) || 'empty'})</span>`
          : nothing}
        ${monitor && stored && !stored.withheld && (stored.value !== null || stored.not_done) && !stored.verified && !item.derive &&
          !this.databaseLocked()
          ? this.queriesFor(item.id).some((q) => q.state === 'open')
            ? html`<span class="muted small">verify once the site answers its query</span>`
            : html`<button type="button" class="small" @click=${() => void this.verify([item.id])}>Verify</button>`
          : nothing}
        <a class="small" href=${subjectLink(this.ctx, this.subjectId, '/audit?path=' + encodeURIComponent(`subject/${this.subjectId}/${this.visit}/${this.formId}/${item.id}`))}>History</a>
        ${this.itemExtras(item, item.id, '', null)}
      </div>
    </div>`;
  }

  // A group's label; its id only for those who show codes (else `unlabelled`).
  private groupTitle(g: GroupDef, unlabelled: string): TemplateResult | string {
    if (!showCodes(this.ctx)) return g.label || unlabelled;
    return html`${g.label} <span class="item-id">${g.id}</span>`;
  }

  private repeatingGroup(g: GroupDef): TemplateResult {
    const rows = this.groupRows(g);
    const editable = this.editable();
    const items = g.items;
    // The AE log's rows show their MedDRA coding as saved.
    const coded = isAdverseEventGroup(this.ctx.definition, this.formId, g.id);
    const codes = showCodes(this.ctx);
    return html`<fieldset class="group repeating">
      <legend>${this.groupTitle(g, 'Rows')}</legend>
      <div class="grid-scroll">
        <table class="data rows">
          <thead><tr><th scope="col">Row</th>${items.map((i) => html`<th scope="col">${i.label}${i.unit ? ` (${i.unit})` : ''}</th>`)}${
            coded ? html`<th scope="col">MedDRA coding</th>` : nothing}<th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
          <tbody>
            ${rows.map((r) => {
              const stored = r.row === null ? undefined : this.state?.rows[g.id]?.find((x) => x.row === r.row);
              return html`<tr class=${Object.keys(r.items).length ? 'changed' : ''}>
                <th scope="row">${r.row ?? 'new'}</th>
                ${items.map((i) => {
                  const id = `row-${g.id}-${r.key}-${i.id}`;
                  const value = i.id in r.items ? r.items[i.id] : toInput(stored?.items[i.id]?.value);
                  const number = this.rowNumber(g.id, r);
                  const asked = !this.check?.hidden_in_rows.some((h) => h.group === g.id && h.row === number && h.item === i.id);
                  if (!asked) return html`<td class="not-asked"><span class="muted">not asked</span></td>`;
                  const problems = this.problemsFor(i.id, g.id, number);
                  // An identifying item of a row shows what the role may see of it, as a single item does.
                  const withheld = stored?.items[i.id]?.withheld ? stored.items[i.id] : null;
                  return html`<td class=${problems.some((p) => p.hard) ? 'has-error' : problems.some((p) => !settled(p)) ? 'has-warning' : ''}>
                    <label for=${id} class="visually-hidden">${i.label}, row ${r.row ?? 'new'}</label>
                    ${withheld
                      ? html`<span class="withheld" id=${id}>${withheldText(withheld)}</span>`
                      : this.field(i, id, value, (v) => this.setRowItem(g.id, r, i, v), !editable || !!i.derive, id + '-msg')}
                    ${stored?.items[i.id]?.verified ? html`<span class="badge verified" title="verified">✓</span>` : nothing}
                    ${this.messages(problems, id + '-msg')}
                    ${r.row !== null ? this.itemExtras(i, `${g.id}-${r.row}-${i.id}`, g.id, r.row) : nothing}
                  </td>`;
                })}
                ${coded
                  ? html`<td class="coding" data-label="MedDRA coding">${r.row === null
                      ? html`<span class="muted small">coded when saved</span>`
                      : codingCell(stored?.coding, codes)}</td>`
                  : nothing}
                <td>${editable && can.removeRow(this.ctx.role)
                  ? html`<button type="button" class="small" @click=${() => void this.removeRow(g, r)}>Remove…</button>`
                  : nothing}</td>
              </tr>`;
            })}
          </tbody>
        </table>
      </div>
      ${editable
        ? html`<button type="button" @click=${() => {
            this.groupRows(g).push({ row: null, key: 'n' + ++this.newRows, items: {} });
            this.ctx.update();
          }}>Add a row</button>`
        : nothing}
    </fieldset>`;
  }

  template() {
    const ctx = this.ctx;
    const crumbs = html`<p class="crumbs"><a href=${subjectLink(ctx, this.subjectId)}>Subject ${this.subjectId}</a> ›
      ${visitName(ctx, this.visit)} › ${formName(ctx, this.formId)}</p>`;
    if (!this.def) return html`${crumbs}<h1>Unknown form</h1><p>The study has no form ${this.formId}.</p>`;
    if (!this.state) return html`${crumbs}<h1>${this.def.name}</h1>${errorBox(this.error)}${this.error ? nothing : html`<p>Loading…</p>`}`;
    const role = ctx.role;
    const editable = this.editable();
    // Warnings whose query the site answered or a reviewer closed are settled:
    // they show that state on their item, not here as something to act on.
    const problems = (this.check?.problems ?? []).filter((p) => !settled(p));
    const codes = showCodes(ctx);
    const signatures = this.signatures();
    const why = this.state.read_only;
    // A locked database refuses every command; a locked or frozen subject its signing too.
    const databaseLocked = why === 'database_locked';
    const subjectClosed = databaseLocked || why === 'subject_locked' || why === 'subject_frozen';
    const valid = this.validSignatures();
    const hasData = Object.keys(this.state.items).length > 0 || Object.keys(this.state.rows).length > 0;
    return html`${crumbs}
      <h1>${this.def.name} <span class="muted">· ${visitName(ctx, this.visit)} · ${this.subjectId}</span></h1>
      <p>
        <span class="badge form-${this.state.status.replace(/ /g, '-')}">${this.state.status}</span>
        ${this.state.frozen ? html`<span class="badge frozen">frozen</span>` : nothing}
        ${this.state.locked ? html`<span class="badge locked">locked</span>` : nothing}
        ${valid.length ? html`<span class="badge signed">signed</span>` : nothing}
        ${!can.enterForm(role, this.def) ? html`<span class="muted">read only for your role</span>` : nothing}
      </p>
      ${why
        ? // A locked database is told once, by the banner every page of the study shows.
          why === 'database_locked' && ctx.study.locked ? nothing : readOnlyNote(why, this.subjectId)
        : valid.length && can.enterForm(role, this.def)
          ? html`<p class="read-only-note" data-read-only="signed">
              ${this.changeSigned
                ? html`<strong>Changing signed data.</strong> Saving breaks the signature of ${valid.map((s) => s.signer_name).join(', ')}.`
                : html`<strong>Read only.</strong> Signed by ${valid.map((s) => `${s.signer_name} on ${showTime(s.time)} (${s.meaning})`).join('; ')}.
                    <button type="button" class="small" @click=${() => void this.changeSignedData()}>Change data…</button>`}
            </p>`
          : nothing}
      ${this.visitDateNotice()}
      <div class="toolbar">
        ${can.verify(role) && hasData && !databaseLocked ? html`<button type="button" class="primary" @click=${() => void this.verify()}>Verify whole form</button>` : nothing}
        ${can.sign(role) && hasData && !subjectClosed ? html`<button type="button" @click=${() => void this.sign()}>Sign this form…</button>` : nothing}
        ${can.control(role) && !databaseLocked
          ? html`${this.state.frozen
                ? html`<button type="button" @click=${() => void this.control('form.unfreeze', 'Unfreeze')}>Unfreeze…</button>`
                : html`<button type="button" @click=${() => void this.control('form.freeze', 'Freeze')}>Freeze</button>`}
              ${this.state.locked
                ? html`<button type="button" @click=${() => void this.control('form.unlock', 'Unlock')}>Unlock…</button>`
                : html`<button type="button" @click=${() => void this.control('form.lock', 'Lock')}>Lock</button>`}`
          : nothing}
        <a class="button" href=${subjectLink(ctx, this.subjectId, '/audit?path=' + encodeURIComponent(`subject/${this.subjectId}/${this.visit}/${this.formId}`))}>Audit trail of this form</a>
        ${mayShowCodes(role)
          ? html`<label class="toggle"><input type="checkbox" name="show-codes" .checked=${codes}
              @change=${(e: Event) => (setShowCodes(ctx, (e.target as HTMLInputElement).checked), ctx.update())} /> Show codes</label>`
          : nothing}
      </div>
      ${okBox(this.message)} ${errorBox(this.error)}
      ${problems.length && editable
        ? html`<div id="problem-summary" class="problem-summary" tabindex="-1" role="region" aria-label="Problems on this form">
            <h2>${problems.length} ${problems.length === 1 ? 'problem' : 'problems'}</h2>
            <ul>${problems.map((p) => html`<li class=${p.hard ? 'error' : 'warning'}>${itemLabel(ctx, this.formId, p.item)}${
              codes ? ` [${p.check}]` : ''}${p.group ? ` (row ${p.row})` : ''}: ${p.message}
              ${p.query ? ` (query ${p.query}: ${p.query_state})` : p.hard || !this.typed(p.item) ? '' : ' (saving opens a query)'}</li>`)}</ul>
          </div>`
        : nothing}
      <form @submit=${(e: Event) => void this.save(e)} novalidate aria-label=${this.def.name}>
        ${this.def.groups.map((g) =>
          g.repeating
            ? this.repeatingGroup(g)
            : html`<fieldset class="group">${g.label || codes ? html`<legend>${this.groupTitle(g, '')}</legend>` : nothing}${g.items.map((i) => this.itemRow(i))}</fieldset>`,
        )}
        ${editable
          ? html`<div class="actions left sticky">
              <button type="submit" class="primary" ?disabled=${this.saving}>Save</button>
              ${this.unsaved()
                ? html`<button type="button" @click=${() => {
                    this.items = {};
                    this.notDone = {};
                    this.rows = {};
                    this.check = null;
                    this.scheduleCheck(0);
                    this.ctx.update();
                  }}>Discard changes</button>
                  <span class="muted">unsaved changes</span>`
                : nothing}
            </div>`
          : nothing}
      </form>
      ${signatures.length
        ? html`<section class="panel"><h2>Signatures covering this form</h2><ul class="signatures">${signatures.map((s) => signatureLine(ctx, s))}</ul></section>`
        : nothing}
      <p><a href=${formLink(ctx, this.subjectId, this.visit, this.formId)} @click=${() => void this.load()}>Reload</a></p>`;
  }
}

// An identifying value the server withheld from the caller's role, in a sentence.
export function withheldText(state: ItemState): string {
  if (state.withheld === 'year_only' && typeof state.value === 'string') {
    return `Year ${state.value} (the full date is not shown to your role)`;
  }
  return state.value === null && state.withheld === 'year_only' ? 'Not entered' : 'Not shown to your role';
}

// The values of a form, read only (the audit view shows a form as it stood).
export function valuesTable(def: FormDef, items: Record<string, ItemState>): TemplateResult {
  return html`<table class="data compact">
    <thead><tr><th scope="col">Item</th><th scope="col">Value</th></tr></thead>
    <tbody>
      ${def.groups.filter((g) => !g.repeating).flatMap((g) =>
        g.items.map(
          (i) => html`<tr><th scope="row">${i.label}</th><td>${items[i.id]?.withheld ? withheldText(items[i.id]) : items[i.id]?.not_done ? 'not done: ' + items[i.id].not_done : showItemValue(i.type, items[i.id]?.value)}</td></tr>`,
        ),
      )}
    </tbody>
  </table>`;
}
