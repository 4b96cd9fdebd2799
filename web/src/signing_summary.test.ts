import { describe, expect, it } from 'vitest';
import { nothingOutstanding, signingSummary } from './signing_summary';
import type { Query, ScheduleVisit, Subject } from './types';

const query = (n: number, visit: string, form: string, state: string): Query => ({
  query: n, visit, form, item: 'X', check: '', state, thread: [],
});

const subject: Subject = {
  id: '701-1', site: '701', status: 'enrolled', version: 9, frozen: false, locked: false, inactive: false, inactive_reason: '',
  visits: {
    SCREENING1: {
      missed: false,
      forms: {
        VS: { items: { SYSBP: { value: 120, verified: true }, PULSE: { value: 70, verified: false } }, rows: {}, frozen: false, locked: false },
        DM: { items: { SEX: { value: 'F', verified: true } }, rows: {}, frozen: false, locked: false },
      },
    },
    LOGS: {
      missed: false,
      forms: {
        AE: { items: {}, rows: { AE: [{ row: 1, items: { AETERM: { value: 'rash', verified: false } } }] }, frozen: false, locked: false },
      },
    },
  },
  queries: [query(1, 'SCREENING1', 'VS', 'open'), query(2, 'SCREENING1', 'DM', 'closed'), query(3, 'LOGS', 'AE', 'answered')],
  signatures: [],
};

const schedule: ScheduleVisit[] = [
  { visit: 'SCREENING1', status: 'in window', forms: [{ form: 'VS', status: 'complete' }, { form: 'DM', status: 'complete' }, { form: 'LB', status: 'not started' }] },
  { visit: 'WEEK2', status: 'overdue', forms: [{ form: 'VS', status: 'not started' }] },
  { visit: 'WEEK4', status: 'not due', forms: [{ form: 'VS', status: 'not started' }] },
  // Due, its date not entered yet, but begun: a form has data.
  { visit: 'WEEK8', status: 'due', forms: [{ form: 'SV', status: 'not started' }, { form: 'VS', status: 'complete' }] },
  { visit: 'LOGS', status: 'unscheduled', forms: [{ form: 'AE', status: 'in progress' }] },
];

describe('signingSummary', () => {
  it('lists for a casebook every unresolved query, visit due but not started, form missing, incomplete or unverified', () => {
    const s = signingSummary(subject, schedule, {});
    expect(s.queries.map((q) => q.query)).toEqual([1, 3]);
    expect(s.visitsNotStarted).toEqual(['WEEK2']);
    // A form of a visit not yet due is not missing; one of a visit that took place is.
    expect(s.formsNotStarted).toEqual([{ visit: 'SCREENING1', form: 'LB' }, { visit: 'WEEK8', form: 'SV' }]);
    expect(s.formsIncomplete).toEqual([{ visit: 'LOGS', form: 'AE' }]);
    expect(s.formsUnverified).toEqual([{ visit: 'SCREENING1', form: 'VS', items: 1 }, { visit: 'LOGS', form: 'AE', items: 1 }]);
    expect(nothingOutstanding(s)).toBe(false);
  });

  it('keeps to a visit or a form when those are signed', () => {
    const visit = signingSummary(subject, schedule, { visit: 'SCREENING1' });
    expect(visit.queries.map((q) => q.query)).toEqual([1]);
    expect(visit.visitsNotStarted).toEqual([]);
    expect(visit.formsNotStarted).toEqual([{ visit: 'SCREENING1', form: 'LB' }]);
    const dm = signingSummary(subject, schedule, { visit: 'SCREENING1', form: 'DM' });
    expect(nothingOutstanding(dm)).toBe(true);
    // A form signed before anything is entered on it is missing, whatever its visit.
    const week4 = signingSummary(subject, schedule, { visit: 'WEEK4', form: 'VS' });
    expect(week4.formsNotStarted).toEqual([{ visit: 'WEEK4', form: 'VS' }]);
  });
});
