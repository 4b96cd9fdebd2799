// What a signature would cover that is not finished yet, shown before the
// password: queries still open or answered, visits due with nothing entered,
// forms not started or incomplete in visits that took place, and forms with
// data not source-verified. Read from the casebook and the schedule the
// server gives the signer (blinding already applied): a summary, not a rule;
// signing stays allowed.
import { unresolved } from './query_states';
import type { Query, ScheduleVisit, Subject } from './types';

export interface SigningScope {
  visit?: string; // none: the whole casebook
  form?: string; // none: the whole visit
}

export interface SigningSummary {
  queries: Query[];
  visitsNotStarted: string[]; // due or overdue, nothing entered, not recorded as missed
  formsNotStarted: { visit: string; form: string }[];
  formsIncomplete: { visit: string; form: string }[];
  formsUnverified: { visit: string; form: string; items: number }[];
}

// Visits whose window has begun and that hold nothing yet.
const PENDING = ['due', 'overdue'];
// Visits that took place (their date is entered).
const TOOK_PLACE = ['in window', 'early', 'late', 'unscheduled'];

export function signingSummary(subject: Subject, schedule: ScheduleVisit[], scope: SigningScope): SigningSummary {
  const inScope = (visit: string, form?: string) =>
    (!scope.visit || scope.visit === visit) && (!scope.form || form === undefined || scope.form === form);
  const out: SigningSummary = { queries: [], visitsNotStarted: [], formsNotStarted: [], formsIncomplete: [], formsUnverified: [] };
  out.queries = subject.queries.filter((q) => unresolved(q) && inScope(q.visit, q.form));
  for (const v of schedule) {
    if (!inScope(v.visit)) continue;
    // Begun: it took place, or something is entered on it (before its date).
    const begun = TOOK_PLACE.includes(v.status) || v.forms.some((f) => f.status !== 'not started');
    if (PENDING.includes(v.status) && !begun && !scope.form) out.visitsNotStarted.push(v.visit);
    for (const f of v.forms) {
      if (!inScope(v.visit, f.form)) continue;
      if (f.status === 'not started' && (begun || scope.form)) {
        out.formsNotStarted.push({ visit: v.visit, form: f.form });
      }
      if (f.status === 'in progress') out.formsIncomplete.push({ visit: v.visit, form: f.form });
    }
  }
  for (const [visit, v] of Object.entries(subject.visits)) {
    for (const [form, f] of Object.entries(v.forms)) {
      if (!inScope(visit, form)) continue;
      let items = 0;
      for (const it of Object.values(f.items)) if (it.value !== null && !it.verified) items++;
      for (const rows of Object.values(f.rows)) {
        for (const r of rows) for (const it of Object.values(r.items)) if (it.value !== null && !it.verified) items++;
      }
      if (items) out.formsUnverified.push({ visit, form, items });
    }
  }
  return out;
}

export function nothingOutstanding(s: SigningSummary): boolean {
  return !s.queries.length && !s.visitsNotStarted.length && !s.formsNotStarted.length && !s.formsIncomplete.length &&
    !s.formsUnverified.length;
}
