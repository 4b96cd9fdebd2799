// The signing dialog: meaning, user id and password (21 CFR 11.200), and
// what is being signed; the signature then shows name, UTC time and meaning.
import { html } from 'lit-html';
import { ApiError, post, studyPath } from '../api';
import type { Context } from '../app';
import type { CommandReply } from '../types';
import { announce, errorBox, openDialog } from '../ui';

export async function signDialog(ctx: Context, scope: { subject: string; visit?: string; form?: string }, what: string): Promise<boolean> {
  let error = '';
  const done = await openDialog<boolean>('Electronic signature', (close, rerender) => {
    const submit = async (e: Event) => {
      e.preventDefault();
      const f = e.target as HTMLFormElement;
      const value = (name: string) => (f.elements.namedItem(name) as HTMLInputElement).value;
      try {
        await post<CommandReply>(studyPath(ctx.study.id) + '/commands', {
          op: 'sign',
          ...scope,
          meaning: value('meaning'),
          user: value('user'),
          password: value('password'),
        });
        announce('Signed');
        close(true);
      } catch (err) {
        error = err instanceof ApiError && err.status === 403 ? 'Signature refused: ' + err.message : (err as Error).message;
        rerender();
      }
    };
    return html`<form @submit=${submit}>
      <p>You are signing <strong>${what}</strong> as <strong>${ctx.me.full_name}</strong>.</p>
      <label for="sign-meaning">Meaning of this signature</label>
      <select id="sign-meaning" name="meaning">
        <option value="approval">Approval — I approve the data as true and complete</option>
        <option value="review">Review — I have reviewed the data</option>
        <option value="authorship">Authorship — I am the author of the data</option>
      </select>
      <label for="sign-user">User name</label>
      <input id="sign-user" name="user" value=${ctx.me.user} autocomplete="username" required />
      <label for="sign-password">Password</label>
      <input id="sign-password" name="password" type="password" autocomplete="current-password" required autofocus />
      <p class="muted">
        Your electronic signature is the legally binding equivalent of your handwritten signature. It is bound to the
        data as they are now; any later change to them breaks it.
      </p>
      ${errorBox(error)}
      <div class="actions">
        <button type="button" @click=${() => close(null)}>Cancel</button>
        <button type="submit" class="primary">Sign</button>
      </div>
    </form>`;
  });
  return !!done;
}
