// Shared pieces of the interface: modal dialogs (native <dialog>, which
// keeps focus inside and closes on Escape), announcements for screen
// readers, and message boxes.
import { html, nothing, render, type TemplateResult } from 'lit-html';

export function announce(message: string): void {
  const region = document.getElementById('announcer');
  if (!region) return;
  region.textContent = '';
  // A change after a tick is read out even when the text repeats.
  window.setTimeout(() => (region.textContent = message), 30);
}

// Opens a modal dialog; `body` draws its content and calls `close` with the
// answer (null when cancelled). Focus returns where it was.
export function openDialog<T>(
  title: string,
  body: (close: (answer: T | null) => void, rerender: () => void) => TemplateResult,
): Promise<T | null> {
  const previous = document.activeElement as HTMLElement | null;
  const dialog = document.createElement('dialog');
  dialog.setAttribute('aria-labelledby', 'dialog-title');
  document.body.appendChild(dialog);
  return new Promise((resolve) => {
    let done = false;
    const close = (answer: T | null) => {
      if (done) return;
      done = true;
      dialog.close();
      dialog.remove();
      previous?.focus();
      resolve(answer);
    };
    const draw = () =>
      render(
        html`<h2 id="dialog-title">${title}</h2>
          ${body(close, draw)}`,
        dialog,
      );
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      close(null);
    });
    draw();
    dialog.showModal();
    const first = dialog.querySelector<HTMLElement>('[autofocus], input, select, textarea, button');
    first?.focus();
  });
}

// Asks for a reason (changes, removals, unlocking...). Empty answers are not accepted.
export function askReason(title: string, explanation: string, label = 'Reason'): Promise<string | null> {
  let error = '';
  return openDialog<string>(title, (close, rerender) => {
    const submit = (e: Event) => {
      e.preventDefault();
      const text = ((e.target as HTMLFormElement).elements.namedItem('reason') as HTMLTextAreaElement).value.trim();
      if (!text) {
        error = 'A reason is required.';
        rerender();
        return;
      }
      close(text);
    };
    return html`<form @submit=${submit}>
      <p>${explanation}</p>
      <label for="reason-input">${label}</label>
      <textarea id="reason-input" name="reason" rows="3" required autofocus aria-describedby="reason-error"></textarea>
      <p id="reason-error" class="error" role="alert">${error}</p>
      <div class="actions">
        <button type="button" @click=${() => close(null)}>Cancel</button>
        <button type="submit" class="primary">Continue</button>
      </div>
    </form>`;
  });
}

// The words a reason for change carries when it is none of the study's
// standard ones (the server accepts exactly this form).
export const OTHER_REASON_PREFIX = 'Other: ';

// Asks for a reason for changing saved data: one of the study's standard
// reasons, or "Other" with the user's own words; free text when the study
// lists none.
export function askChangeReason(title: string, explanation: string, standard: string[]): Promise<string | null> {
  if (!standard.length) return askReason(title, explanation);
  let error = '';
  let choice = '';
  return openDialog<string>(title, (close, rerender) => {
    const submit = (e: Event) => {
      e.preventDefault();
      const words = ((e.target as HTMLFormElement).elements.namedItem('other') as HTMLTextAreaElement | null)?.value.trim() ?? '';
      if (!choice) error = 'Choose a reason.';
      else if (choice === 'other' && !words) error = 'Describe the reason in your own words.';
      else return close(choice === 'other' ? OTHER_REASON_PREFIX + words : choice);
      rerender();
    };
    const pick = (e: Event) => {
      choice = (e.target as HTMLSelectElement).value;
      error = '';
      rerender();
    };
    // novalidate: the dialog's own messages say what is missing, in words.
    return html`<form @submit=${submit} novalidate>
      <p>${explanation}</p>
      <label for="reason-choice">Reason for change</label>
      <select id="reason-choice" name="choice" required autofocus aria-describedby="reason-error" @change=${pick}>
        <option value="" ?selected=${!choice}>Choose a reason…</option>
        ${standard.map((r) => html`<option value=${r} ?selected=${choice === r}>${r}</option>`)}
        <option value="other" ?selected=${choice === 'other'}>Other (describe)</option>
      </select>
      ${choice === 'other'
        ? html`<label for="reason-other">Describe the reason</label>
            <textarea id="reason-other" name="other" rows="3" required aria-describedby="reason-error"></textarea>`
        : nothing}
      <p id="reason-error" class="error" role="alert">${error}</p>
      <div class="actions">
        <button type="button" @click=${() => close(null)}>Cancel</button>
        <button type="submit" class="primary">Continue</button>
      </div>
    </form>`;
  });
}

export function confirmAction(title: string, explanation: string, action: string): Promise<boolean | null> {
  return openDialog<boolean>(
    title,
    (close) => html`<p>${explanation}</p>
      <div class="actions">
        <button type="button" @click=${() => close(null)}>Cancel</button>
        <button type="button" class="primary" autofocus @click=${() => close(true)}>${action}</button>
      </div>`,
  );
}

export function errorBox(message: string): TemplateResult | typeof nothing {
  return message ? html`<div class="error-box" role="alert">${message}</div>` : nothing;
}

export function okBox(message: string): TemplateResult | typeof nothing {
  return message ? html`<div class="ok-box" role="status">${message}</div>` : nothing;
}

// The site filter of a list page: "All my sites" or one of them.
export function siteFilter(
  sites: { id: string; name: string }[],
  selected: string,
  choose: (site: string) => void,
): TemplateResult {
  return html`<label>Site
    <select name="site" @change=${(e: Event) => choose((e.target as HTMLSelectElement).value)}>
      <option value="">All my sites</option>
      ${sites.map((s) => html`<option value=${s.id} ?selected=${s.id === selected}>${s.name}</option>`)}
    </select>
  </label>`;
}
