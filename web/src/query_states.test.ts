import { describe, expect, it } from 'vitest';
import { auditWho, awaitsReview, awaitsSite, queryCount, raisedByText, unresolved } from './query_states';
import type { AuditEntry, RaisedBy } from './types';

const check: RaisedBy = {
  kind: 'edit_check', check: 'SYSBP.soft_range', message: 'Systolic blood pressure is unusual; please confirm',
  triggered_by: { user: 'coord.701', role: 'coordinator' }, triggering_save_seq: 41,
};

describe('query states', () => {
  it('open awaits the site, answered the reviewer; both are unresolved, closed and cancelled are not', () => {
    expect([awaitsSite({ state: 'open' }), awaitsReview({ state: 'open' })]).toEqual([true, false]);
    expect([awaitsSite({ state: 'answered' }), awaitsReview({ state: 'answered' })]).toEqual([false, true]);
    expect(['open', 'answered', 'closed', 'cancelled'].map((state) => unresolved({ state }))).toEqual([true, true, false, false]);
    expect([queryCount(0, 'open'), queryCount(1, 'answered'), queryCount(2, 'open')]).toEqual(['', '1 answered query', '2 open queries']);
  });

  it('names an edit check, not the user whose save triggered it, as who raised a query', () => {
    expect(raisedByText(check, true)).toBe('edit check SYSBP.soft_range');
    expect(raisedByText(check, false)).toBe('automatic edit check');
    expect(raisedByText({ kind: 'user', user: 'cra.1', role: 'monitor' }, false)).toBe('cra.1');
  });

  it('writes an audit entry of an edit check\'s query as the check\'s, after the save of its user', () => {
    const entry: AuditEntry = {
      time: '', user: 'coord.701', role: 'coordinator', event: 'query.opened', path: 'subject/701-1/queries/3/state',
      reason: '', old: null, new: 'open', raised_by: check,
    };
    expect(auditWho(entry, true)).toBe('edit check SYSBP.soft_range, after a save by coord.701');
    expect(auditWho(entry, false)).toBe('automatic edit check, after a save by coord.701');
    expect(auditWho({ ...entry, raised_by: undefined }, false)).toBe('coord.701');
  });
});
