import { describe, expect, it } from 'vitest';
import { cellState, cellWords } from './cells';
import type { Signature, Subject } from './types';

function subject(over: Partial<Subject> = {}): Subject {
  return {
    id: '701-1', site: '701', status: 'enrolled', version: 3, frozen: false, locked: false, inactive: false, inactive_reason: '',
    visits: {
      WEEK2: {
        missed: false,
        forms: {
          VS: { items: { SYSBP: { value: 120, verified: true }, DIABP: { value: 80, verified: false } }, rows: {}, frozen: false, locked: false },
          LB: { items: { ALT: { value: 20, verified: true } }, rows: { LB: [{ row: 1, items: { X: { value: 'a', verified: true } } }] }, frozen: true, locked: false },
        },
      },
    },
    queries: [],
    signatures: [],
    ...over,
  };
}

const signature = (over: Partial<Signature>): Signature => ({
  signature: 1, visit: '', form: '', meaning: 'approval', signer: 'inv', signer_name: 'Dr', time: '', content_hash: '', broken: false, ...over,
});

describe('cellState', () => {
  it('counts open and answered queries of that visit and form apart', () => {
    const s = subject({
      queries: [
        { query: 1, visit: 'WEEK2', form: 'VS', item: 'SYSBP', check: '', state: 'open', thread: [] },
        { query: 2, visit: 'WEEK2', form: 'VS', item: 'SYSBP', check: '', state: 'answered', thread: [] },
        { query: 3, visit: 'WEEK2', form: 'VS', item: 'SYSBP', check: '', state: 'closed', thread: [] },
        { query: 4, visit: 'WEEK4', form: 'VS', item: 'SYSBP', check: '', state: 'open', thread: [] },
      ],
    });
    expect(cellState(s, 'WEEK2', 'VS', 'complete')).toMatchObject({ openQueries: 1, answeredQueries: 1 });
    expect(cellWords(cellState(s, 'WEEK2', 'VS', 'complete'))).toEqual(['complete', '1 open query', '1 answered query']);
  });

  it('is verified only when every entered value, rows included, is verified', () => {
    const s = subject();
    expect(cellState(s, 'WEEK2', 'VS', 'complete').verified).toBe(false);
    expect(cellState(s, 'WEEK2', 'LB', 'complete').verified).toBe(true);
    expect(cellState(s, 'WEEK8', 'VS', 'not started').verified).toBe(false);
  });

  it('is signed by a valid signature covering it; broken only when no valid one does', () => {
    const casebook = subject({ signatures: [signature({ broken: true })] });
    expect(cellState(casebook, 'WEEK2', 'VS', 'complete')).toMatchObject({ signed: false, brokenSignature: true });
    const resigned = subject({ signatures: [signature({ broken: true }), signature({ signature: 2, visit: 'WEEK2', form: 'VS' })] });
    expect(cellState(resigned, 'WEEK2', 'VS', 'complete')).toMatchObject({ signed: true, brokenSignature: false });
    // A signature of another form does not cover this one.
    expect(cellState(resigned, 'WEEK2', 'LB', 'complete')).toMatchObject({ signed: false, brokenSignature: true });
  });

  it('takes freeze and lock from the form or the whole subject', () => {
    expect(cellState(subject(), 'WEEK2', 'LB', 'complete').frozen).toBe(true);
    expect(cellState(subject(), 'WEEK2', 'VS', 'complete').frozen).toBe(false);
    expect(cellState(subject({ locked: true }), 'WEEK2', 'VS', 'complete').locked).toBe(true);
  });
});

describe('cellWords', () => {
  it('says every state for screen readers, in order', () => {
    expect(cellWords({ status: 'complete', openQueries: 1, answeredQueries: 0, verified: true, signed: false, brokenSignature: true, frozen: false, locked: true }))
      .toEqual(['complete', '1 open query', 'verified', 'signature broken', 'locked']);
    expect(cellWords({ status: 'in progress', openQueries: 2, answeredQueries: 3, verified: false, signed: true, brokenSignature: false, frozen: true, locked: false }))
      .toEqual(['in progress', '2 open queries', '3 answered queries', 'signed', 'frozen']);
  });
});
