// Database lock, for data managers: the checklist the server reads (subjects
// still on study, unsigned casebooks, broken signatures, unverified forms,
// unresolved queries), each item resolved or accepted here with a reason,
// then the lock signed with the password; the unlock likewise, with its
// reason. The server decides (study.lock refuses what is not resolved or
// accepted); the page shows where each outstanding item is.
import { html, nothing, type TemplateResult } from 'lit-html';
import { get, post, studyPath } from '../api';
import { formLink, formName, LiveReload, studyLink, subjectLink, visitName, type Context, type View } from '../app';
import { can } from '../roles';
import type { LockCheckItem, LockChecklist } from '../types';
import { label, showTime } from '../format';
import { errorBox, okBox } from '../ui';
import { eSignatureDialog } from './sign';

export class LockView implements View {
  private checklist: LockChecklist | null = null;
  private accepted = new Map<string, string>(); // item id → reason (checked items only)
  private error = '';
  private message = '';
  private readonly reload = new LiveReload(() => void this.load());

  constructor(private readonly ctx: Context) {
    void this.load();
  }

  title(): string {
    return 'Database lock';
  }

  private async load(): Promise<void> {
    try {
      this.checklist = await get<LockChecklist>(studyPath(this.ctx.study.id) + '/lock-checklist');
    } catch (e) {
      this.error = (e as Error).message;
    }
    this.ctx.update();
  }

  live(): void {
    this.reload.changed();
  }

  dispose(): void {
    this.reload.dispose();
  }

  private outstanding(): LockCheckItem[] {
    return (this.checklist?.items ?? []).filter((i) => i.count > 0);
  }

  // What still keeps the lock off, in sentences; empty when it may be signed.
  private blockers(): string[] {
    return this.outstanding()
      .filter((i) => !i.acceptable || !this.accepted.get(i.id)?.trim())
      .map((i) => (i.acceptable ? `${i.title}: accept with a reason or resolve.` : `${i.title}: resolve before the lock.`));
  }

  private async lock(): Promise<void> {
    const blockers = this.blockers();
    if (blockers.length) {
      this.error = 'The checklist is not complete. ' + blockers.join(' ');
      return this.ctx.update();
    }
    const accept: Record<string, string> = {};
    for (const i of this.outstanding()) accept[i.id] = this.accepted.get(i.id)!.trim();
    const signed = await eSignatureDialog(this.ctx, {
      title: 'Sign the database lock',
      intro: html`<p>You are locking the database of <strong>${this.ctx.study.id}</strong> as
          <strong>${this.ctx.me.full_name}</strong>. Every change to every subject will be refused until it is unlocked.</p>
        ${Object.keys(accept).length
          ? html`<p>You accept:</p>
              <ul>${this.outstanding().map((i) => html`<li>${i.title} (${i.count}): ${accept[i.id]}</li>`)}</ul>`
          : html`<p>Every item of the checklist is resolved.</p>`}`,
      action: 'Sign and lock',
      send: async (value) => {
        await post(studyPath(this.ctx.study.id) + '/commands', {
          op: 'study.lock',
          accept,
          user: value('user'),
          password: value('password'),
        });
      },
    });
    if (!signed) return;
    this.message = 'The database is locked.';
    this.error = '';
    this.accepted.clear();
    await this.load();
  }

  private async unlock(e: Event): Promise<void> {
    e.preventDefault();
    const reason = ((e.target as HTMLFormElement).elements.namedItem('unlock-reason') as HTMLTextAreaElement).value.trim();
    if (!reason) {
      this.error = 'Give the reason to unlock the database.';
      return this.ctx.update();
    }
    const signed = await eSignatureDialog(this.ctx, {
      title: 'Sign the database unlock',
      intro: html`<p>You are unlocking the database of <strong>${this.ctx.study.id}</strong> as
        <strong>${this.ctx.me.full_name}</strong>, because: ${reason}</p>`,
      action: 'Sign and unlock',
      send: async (value) => {
        await post(studyPath(this.ctx.study.id) + '/commands', {
          op: 'study.unlock',
          reason,
          user: value('user'),
          password: value('password'),
        });
      },
    });
    if (!signed) return;
    this.message = 'The database is unlocked.';
    this.error = '';
    await this.load();
  }

  private where(i: LockCheckItem, r: LockCheckItem['listed'][number]): TemplateResult {
    const ctx = this.ctx;
    if (r.visit && r.form) {
      const text = `${r.subject}: ${formName(ctx, r.form)} at ${visitName(ctx, r.visit)}`;
      return html`<a href=${formLink(ctx, r.subject, r.visit, r.form)}>${text}</a>${i.id === 'unverified_forms' ? (r.detail === 'partial' ? ' (partly verified)' : ' (not verified)') : ''}`;
    }
    if (r.visit) return html`<a href=${subjectLink(ctx, r.subject)}>${r.subject}: ${visitName(ctx, r.visit)}</a>`;
    return html`<a href=${subjectLink(ctx, r.subject)}>${r.subject}</a> (${i.id === 'broken_signatures' ? 'whole casebook' : label(r.detail)})`;
  }

  private item(i: LockCheckItem): TemplateResult {
    const id = 'accept-' + i.id;
    const accepted = this.accepted.has(i.id);
    return html`<li class="check-item ${i.count ? 'outstanding' : 'resolved'}" data-check=${i.id}>
      <h2>${i.title}: <span class="figure">${i.count}</span>
        ${i.count ? nothing : html`<span class="badge verified">resolved</span>`}</h2>
      ${i.count
        ? html`<ul class="refs">${i.listed.map((r) => html`<li>${this.where(i, r)}</li>`)}</ul>
            ${i.listed.length < i.count ? html`<p class="muted">The first ${i.listed.length} of ${i.count}.</p>` : nothing}
            ${i.acceptable
              ? html`<label class="toggle"><input type="checkbox" name=${id} .checked=${accepted}
                    @change=${(e: Event) => {
                      if ((e.target as HTMLInputElement).checked) this.accepted.set(i.id, '');
                      else this.accepted.delete(i.id);
                      this.ctx.update();
                    }} /> Accept for the lock</label>
                  ${accepted
                    ? html`<label for=${id + '-reason'}>Why is it acceptable?</label>
                        <textarea id=${id + '-reason'} rows="2" .value=${this.accepted.get(i.id) ?? ''}
                          @input=${(e: Event) => this.accepted.set(i.id, (e.target as HTMLTextAreaElement).value)}></textarea>`
                    : nothing}`
              : html`<p>These cannot be accepted: <a href=${studyLink(this.ctx, '/queries?state=open')}>close them</a> first.</p>`}`
        : nothing}
    </li>`;
  }

  // Every lock and unlock, each a signed event: who signed, when, why, and what was accepted.
  private history(): TemplateResult | typeof nothing {
    const h = this.checklist?.history ?? [];
    if (!h.length) return nothing;
    const title = (id: string) => this.checklist?.items.find((i) => i.id === id)?.title ?? id;
    return html`<section class="panel" aria-labelledby="lock-history-title">
      <h2 id="lock-history-title">Locks and unlocks</h2>
      <table class="data compact stack">
        <thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">Signed by</th><th scope="col">Reason</th></tr></thead>
        <tbody>
          ${[...h].reverse().map(
            (l) => html`<tr data-lock-event=${l.action}>
              <td data-label="When">${showTime(l.time)}</td>
              <td data-label="What">${l.action === 'locked' ? 'Database locked' : 'Database unlocked'}</td>
              <td data-label="Signed by">${l.signer_name} (${l.user})</td>
              <td data-label="Reason">${l.reason}
                ${Object.keys(l.accepted).length
                  ? html`<ul>${Object.entries(l.accepted).map(([id, why]) => html`<li>Accepted: ${title(id)}: ${why}</li>`)}</ul>`
                  : nothing}</td>
            </tr>`,
          )}
        </tbody>
      </table>
    </section>`;
  }

  template(): TemplateResult {
    const ctx = this.ctx;
    const c = this.checklist;
    if (!can.control(ctx.role)) return html`<h1>Database lock</h1><p>Only data managers lock the database.</p>`;
    if (!c) return html`<h1>Database lock</h1>${errorBox(this.error)}${this.error ? nothing : html`<p>Loading…</p>`}`;
    if (c.locked) {
      return html`<h1>Database lock</h1>
        ${okBox(this.message)} ${errorBox(this.error)}
        <p><span class="badge locked">Database locked</span> Every change is refused until the database is unlocked.</p>
        <form class="panel" @submit=${(e: Event) => void this.unlock(e)}>
          <label for="unlock-reason">Reason to unlock</label>
          <textarea id="unlock-reason" name="unlock-reason" rows="2"></textarea>
          <div class="actions left"><button type="submit">Unlock the database…</button></div>
        </form>
        ${this.history()}`;
    }
    return html`<h1>Database lock</h1>
      <p>Each item must be resolved, or accepted with a reason, before you sign the lock.</p>
      ${okBox(this.message)} ${errorBox(this.error)}
      <form aria-label="Database lock checklist" @submit=${(e: Event) => (e.preventDefault(), void this.lock())}>
        <ol class="checklist">${c.items.map((i) => this.item(i))}</ol>
        <div class="actions left"><button type="submit" class="primary">Lock the database…</button></div>
      </form>
      ${this.history()}`;
  }
}
