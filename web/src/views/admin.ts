// Administration of a study: its sites, the accounts and the roles they hold
// at each site; new accounts and disabling them (system administrators).
import { html, nothing } from 'lit-html';
import { ApiError, get, post, studyPath } from '../api';
import type { Context, View } from '../app';
import { ALL_ROLES, ROLE_NAMES, can } from '../roles';
import type { Account } from '../types';
import { announce, askReason, errorBox, okBox } from '../ui';

export class AdminView implements View {
  private users: Account[] = [];
  private error = '';
  private message = '';

  constructor(private readonly ctx: Context) {
    void this.load();
  }

  title(): string {
    return 'Administration';
  }

  private get base(): string {
    return studyPath(this.ctx.study.id) + '/users';
  }

  private async load(): Promise<void> {
    try {
      this.users = (await get<{ users: Account[] }>(this.base)).users;
    } catch (e) {
      this.error = (e as Error).message;
    }
    this.ctx.update();
  }

  private async act(path: string, body: unknown, done: string): Promise<boolean> {
    try {
      await post(path, body);
      this.message = done;
      this.error = '';
      announce(done);
      await this.load();
      return true;
    } catch (e) {
      this.error = e instanceof ApiError ? e.message : String(e);
      this.message = '';
      this.ctx.update();
      return false;
    }
  }

  private async grant(e: Event): Promise<void> {
    e.preventDefault();
    const f = e.target as HTMLFormElement;
    const v = (n: string) => (f.elements.namedItem(n) as HTMLInputElement).value;
    const [user, role, site] = [v('user'), v('role'), v('site')];
    const path = `${this.base}/${encodeURIComponent(user)}/grant`;
    const done = `${user} now holds ${ROLE_NAMES[role]} at site ${site}`;
    let granted = await this.act(path, { role, site }, done);
    // Granting again a role that was revoked needs a reason (doc/roles.md).
    if (!granted && this.error.includes('after it was revoked, needs a reason')) {
      const reason = await askReason(`Grant ${ROLE_NAMES[role] ?? role} to ${user} again`,
        `It was revoked at site ${site}. Why grant it again?`);
      if (reason === null) return;
      granted = await this.act(path, { role, site, reason }, done);
    }
    if (granted) f.reset();
  }

  private async revoke(user: string, role: string, site: string): Promise<void> {
    const reason = await askReason(`Revoke ${ROLE_NAMES[role] ?? role} from ${user}`, `At site ${site}. Why?`);
    if (reason === null) return;
    await this.act(`${this.base}/${encodeURIComponent(user)}/revoke`, { role, site, reason }, `Revoked ${role} at ${site} from ${user}`);
  }

  private async disable(user: string): Promise<void> {
    const reason = await askReason(`Disable ${user}`, 'The account can no longer log in; its history stays. Why?');
    if (reason === null) return;
    await this.act(`${this.base}/${encodeURIComponent(user)}/disable`, { reason }, `Disabled ${user}`);
  }

  private async create(e: Event): Promise<void> {
    e.preventDefault();
    const f = e.target as HTMLFormElement;
    const v = (n: string) => (f.elements.namedItem(n) as HTMLInputElement).value;
    if (await this.act(this.base, { id: v('id').trim(), full_name: v('full_name').trim(), password: v('password') }, `Account ${v('id')} created`)) {
      f.reset();
    }
  }

  template() {
    const ctx = this.ctx;
    const sites = ctx.definition.sites;
    return html`<h1>Administration</h1>
      ${okBox(this.message)} ${errorBox(this.error)}
      <section class="panel" aria-labelledby="sites-title">
        <h2 id="sites-title">Sites</h2>
        <table class="data compact">
          <thead><tr><th scope="col">Site</th><th scope="col">Name</th><th scope="col">People</th></tr></thead>
          <tbody>
            ${sites.map(
              (s) => html`<tr><td>${s.id}</td><td>${s.name}</td>
                <td>${this.users.filter((u) => u.grants.some((g) => g.site === s.id)).map((u) => u.id).join(', ')}</td></tr>`,
            )}
          </tbody>
        </table>
        <p class="muted">Sites are part of the protocol: add one by amending the study definition (<code>trialcore study migrate</code>).</p>
      </section>
      <section class="panel" aria-labelledby="users-title">
        <h2 id="users-title">Accounts and roles on ${ctx.study.id}</h2>
        <table class="data stack">
          <thead><tr><th scope="col">User</th><th scope="col">Name</th><th scope="col">Roles at sites</th><th scope="col">Account</th></tr></thead>
          <tbody>
            ${this.users.map(
              (u) => html`<tr class=${u.disabled ? 'disabled' : ''}>
                <td data-label="User">${u.id}</td><td data-label="Name">${u.full_name}</td>
                <td data-label="Roles at sites">
                  ${u.grants.length === 0 ? html`<span class="muted">none</span>` : nothing}
                  <ul class="plain">
                    ${u.grants.map(
                      (g) => html`<li>${ROLE_NAMES[g.role] ?? g.role} @ ${g.site === '*' ? 'all sites' : g.site}
                        <button type="button" class="link small" @click=${() => void this.revoke(u.id, g.role, g.site)}
                          aria-label="Revoke ${g.role} at ${g.site} from ${u.id}">revoke</button></li>`,
                    )}
                  </ul>
                </td>
                <td data-label="Account">${u.disabled
                  ? 'disabled'
                  : can.createAccounts(ctx.role)
                    ? html`active <button type="button" class="link small" @click=${() => void this.disable(u.id)}>disable</button>`
                    : 'active'}</td>
              </tr>`,
            )}
          </tbody>
        </table>
      </section>
      <section class="panel" aria-labelledby="grant-title">
        <h2 id="grant-title">Grant a role</h2>
        <form class="inline" @submit=${(e: Event) => void this.grant(e)}>
          <label>User <select name="user">${this.users.filter((u) => !u.disabled).map((u) => html`<option value=${u.id}>${u.id} (${u.full_name})</option>`)}</select></label>
          <label>Role <select name="role">${ALL_ROLES.map((r) => html`<option value=${r}>${ROLE_NAMES[r]}</option>`)}</select></label>
          <label>Site <select name="site"><option value="*">All sites</option>${sites.map((s) => html`<option value=${s.id}>${s.name}</option>`)}</select></label>
          <button type="submit" class="primary">Grant</button>
        </form>
      </section>
      ${can.createAccounts(ctx.role)
        ? html`<section class="panel" aria-labelledby="new-title">
            <h2 id="new-title">New account</h2>
            <form class="inline" @submit=${(e: Event) => void this.create(e)}>
              <label>User name <input name="id" required autocomplete="off" /></label>
              <label>Full name <input name="full_name" required autocomplete="off" /></label>
              <label>Initial password <input name="password" type="password" minlength="12" required autocomplete="new-password" /></label>
              <button type="submit" class="primary">Create</button>
            </form>
          </section>`
        : nothing}`;
  }
}
