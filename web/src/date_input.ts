// Date fields that show and take dates as dd-MMM-yyyy (05-MAR-2026), never
// in the browser's locale: a native date picker shows 03/05/2026 to one user
// and 05/03/2026 to another. What the user types stays in the field as typed
// while they type; the value the form keeps is the ISO text the server
// stores as soon as the typing reads as a date, and the field shows it in the
// one format once they leave it.
import { html, type TemplateResult } from 'lit-html';
import { parseDateInput, parseDateTimeInput, showDate, showTime } from './format';

export type DateKind = 'date' | 'partial_date' | 'datetime';

const PLACEHOLDERS: Record<DateKind, string> = {
  date: 'DD-MMM-YYYY',
  partial_date: 'DD-MMM-YYYY, UN-MMM-YYYY or UN-UNK-YYYY',
  datetime: 'DD-MMM-YYYY HH:MM (UTC)',
};

// Typed text by field id, kept while it stands for the field's value.
const typed = new Map<string, string>();

export function parseTyped(kind: DateKind, text: string): string | null {
  return kind === 'datetime' ? parseDateTimeInput(text) : parseDateInput(text, kind === 'partial_date');
}

export function showStored(kind: DateKind, value: string): string {
  return kind === 'datetime' ? showTime(value) : showDate(value);
}

// The text a date field shows for the value the form holds.
export function dateFieldText(id: string, kind: DateKind, value: string): string {
  const raw = typed.get(id);
  if (raw !== undefined && (raw === value || parseTyped(kind, raw) === value)) return raw;
  typed.delete(id);
  return showStored(kind, value);
}

export function dateInput(
  kind: DateKind,
  id: string,
  described: string,
  disabled: boolean,
  value: string,
  onChange: (v: string) => void,
): TemplateResult {
  const input = (e: Event) => {
    const raw = (e.target as HTMLInputElement).value;
    typed.set(id, raw);
    onChange(parseTyped(kind, raw) ?? raw);
  };
  const left = (e: Event) => {
    typed.delete(id);
    const field = e.target as HTMLInputElement;
    const iso = parseTyped(kind, field.value);
    if (iso !== null) field.value = showStored(kind, iso);
    onChange(iso ?? field.value);
  };
  const placeholder = PLACEHOLDERS[kind];
  return html`<input id=${id} type="text" class="date-input" data-date-kind=${kind} aria-describedby=${described}
    ?disabled=${disabled} .value=${dateFieldText(id, kind, value)} @input=${input} @change=${left}
    placeholder=${placeholder} title=${'Format: ' + placeholder} autocomplete="off" size=${kind === 'datetime' ? 24 : 14} />`;
}
