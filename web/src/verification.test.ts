import { describe, expect, it } from 'vitest';
import type { AuditEntry, JsonValue } from './types';
import { changedSinceVerification } from './verification';

const prefix = 'subject/701-1/WEEK2/VS/';
let seq = 0;
const entry = (path: string, old: JsonValue, now: JsonValue, event = 'form.saved'): AuditEntry => ({
  seq: ++seq, time: '', user: 'u', role: 'r', event, path: prefix + path, reason: '', old, new: now,
});

describe('changedSinceVerification', () => {
  it('names items whose verification a change reset, with the value verified', () => {
    const trail = [
      entry('SYSBP', null, 175),
      entry('DIABP', null, 80),
      entry('SYSBP/verified', null, true, 'sdv.verified'),
      entry('DIABP/verified', null, true, 'sdv.verified'),
      entry('SYSBP', 175, 150),
      entry('SYSBP/verified', true, false),
    ];
    expect([...changedSinceVerification(trail, prefix)]).toEqual([['SYSBP', 175]]);
  });

  it('forgets the reset once the item is verified again', () => {
    const trail = [
      entry('SYSBP', null, 175),
      entry('SYSBP/verified', null, true, 'sdv.verified'),
      entry('SYSBP', 175, 150),
      entry('SYSBP/verified', true, false),
      entry('SYSBP/verified', false, true, 'sdv.verified'),
    ];
    expect(changedSinceVerification(trail, prefix).size).toBe(0);
  });

  it('ignores other forms and rows of repeating groups', () => {
    const trail = [
      { ...entry('SYSBP', null, 1), path: 'subject/701-1/WEEK4/VS/SYSBP' },
      { ...entry('SYSBP/verified', true, false), path: 'subject/701-1/WEEK4/VS/SYSBP/verified' },
    ];
    expect(changedSinceVerification(trail, prefix).size).toBe(0);
  });
});
