// Why a page is read only, in a sentence for site staff: one wording for
// the form, the casebook and the study-wide banner of a locked database.
import { html, type TemplateResult } from 'lit-html';
import type { ReadOnlyReason } from './types';

export function readOnlyText(why: ReadOnlyReason, subject: string): string {
  switch (why) {
    case 'database_locked':
      return 'The database is locked: nothing can be changed until a data manager unlocks it.';
    case 'subject_inactive':
      return `Subject ${subject} is inactivated (screened in error): its forms cannot change.`;
    case 'subject_locked':
      return `Subject ${subject} is locked: its data cannot be changed unless a data manager unlocks it.`;
    case 'subject_frozen':
      return `Subject ${subject} is frozen: its data cannot be changed unless a data manager unfreezes it.`;
    case 'form_locked':
      return 'This form is locked: its data cannot be changed unless a data manager unlocks it.';
    case 'form_frozen':
      return 'This form is frozen: its data cannot be changed unless a data manager unfreezes it.';
    case 'visit_missed':
      return 'This visit is recorded as missed: no data can be entered for it.';
  }
}

// The note a read-only page opens with; `data-read-only` names the reason for tests and styles.
export function readOnlyNote(why: ReadOnlyReason, subject = ''): TemplateResult {
  return html`<p class="read-only-note" data-read-only=${why}><strong>Read only.</strong> ${readOnlyText(why, subject)}</p>`;
}
