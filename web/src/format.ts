// How values, times, states and ranges are written on the pages.
import type { ItemDef, JsonValue } from './types';

export function showValue(v: JsonValue | undefined): string {
  if (v === null || v === undefined || v === '') return '';
  if (Array.isArray(v)) return v.map((x) => showValue(x)).join(', ');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

// Dates are written one way on every page, whatever the browser's locale:
// dd-MMM-yyyy, the clinical convention that no reader can take for another
// day (05-MAR-2026, never 03/05/2026); an unknown day or month is UN / UNK.
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

// "2026-03-05" → "05-MAR-2026"; partial dates "2026-03" → "UN-MAR-2026",
// "2026" → "UN-UNK-2026". Anything else is shown as it is.
export function showDate(d: string): string {
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/.exec(d);
  if (!m) return d;
  const month = m[2] ? MONTHS[Number(m[2]) - 1] : 'UNK';
  if (!month || (m[3] && (Number(m[3]) < 1 || Number(m[3]) > 31))) return d;
  return `${m[3] ?? 'UN'}-${month}-${m[1]}`;
}

// "2026-11-23T10:04:05.123456Z" → "23-NOV-2026 10:04:05 UTC": recorded
// moments are UTC, to the second (an audit trail tells events apart by it).
export function showTime(t: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2})?(?:\.\d+)?Z$/.exec(t);
  return m ? `${showDate(m[1])} ${m[2]}${m[3] ?? ':00'} UTC` : t;
}

// An item's value as the page shows it: dates and date-times in the one
// format above, everything else as showValue writes it.
export function showItemValue(type: string | undefined, v: JsonValue | undefined): string {
  // A date's year alone is what a role that sees only the year is sent.
  if (typeof v === 'string' && (type === 'date' || type === 'datetime') && /^\d{4}$/.test(v)) return v;
  if (typeof v === 'string' && (type === 'date' || type === 'partial_date')) return showDate(v);
  if (typeof v === 'string' && type === 'datetime') return showTime(v);
  return showValue(v);
}

const pad2 = (n: number) => String(n).padStart(2, '0');

function validDay(year: number, month: number, day: number): boolean {
  const d = new Date(Date.UTC(year, month - 1, day));
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

function monthNumber(text: string): number {
  return MONTHS.indexOf(text.toUpperCase()) + 1;
}

// What a user typed into a date field, as the ISO text the server stores:
// "05-MAR-2026" (any case, 1 or 2 digit day) or "2026-03-05" → "2026-03-05".
// For partial dates also "UN-MAR-2026", "MAR-2026", "2026-03" → "2026-03" and
// "UN-UNK-2026", "2026" → "2026". Null when it is not (yet) such a date: the
// field then keeps the text as typed, and the server says what is wrong.
export function parseDateInput(text: string, partial = false): string | null {
  const t = text.trim().toUpperCase();
  let m = /^(\d{1,2})-([A-Z]{3})-(\d{4})$/.exec(t);
  if (m) {
    const [day, month, year] = [Number(m[1]), monthNumber(m[2]), Number(m[3])];
    return month && validDay(year, month, day) ? `${m[3]}-${pad2(month)}-${pad2(day)}` : null;
  }
  m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(t);
  if (m) return validDay(Number(m[1]), Number(m[2]), Number(m[3])) ? t : null;
  if (!partial) return null;
  m = /^(?:UNK?-UNK-)?(\d{4})$/.exec(t);
  if (m) return m[1];
  m = /^(?:UNK?-)?([A-Z]{3})-(\d{4})$/.exec(t);
  if (m) return monthNumber(m[1]) ? `${m[2]}-${pad2(monthNumber(m[1]))}` : null;
  m = /^(\d{4})-(\d{2})$/.exec(t);
  return m && Number(m[2]) >= 1 && Number(m[2]) <= 12 ? t : null;
}

// A moment typed as "05-MAR-2026 09:30" or "05-MAR-2026 09:30:15" (UTC), or
// as ISO text, → "2026-03-05T09:30:00Z"; null when it is not one.
export function parseDateTimeInput(text: string): string | null {
  const t = text.trim().toUpperCase().replace(/\s*UTC$/, '').replace(/Z$/, '');
  const m = /^(\S+)[T ](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(t);
  if (!m) return null;
  const day = parseDateInput(m[1]);
  const [h, min, s] = [Number(m[2]), Number(m[3]), Number(m[4] ?? '0')];
  if (!day || h > 23 || min > 59 || s > 59) return null;
  return `${day}T${m[2]}:${m[3]}:${pad2(s)}Z`;
}

export function label(text: string): string {
  return text.replace(/_/g, ' ');
}

// An item's range as a hint: the soft range when it has one, else the hard one.
export function rangeText(item: ItemDef): string {
  const r = item.soft_range ?? item.hard_range;
  if (!r) return '';
  const unit = item.unit ? ' ' + item.unit : '';
  if (r.min !== undefined && r.max !== undefined) return `expected ${r.min}–${r.max}${unit}`;
  if (r.min !== undefined) return `at least ${r.min}${unit}`;
  return `at most ${r.max}${unit}`;
}
