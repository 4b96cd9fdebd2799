import { describe, expect, it } from 'vitest';
import { adverseEvents, codingDetail, codingSummary, isAdverseEventGroup } from './ae_coding';
import type { RowCoding, Subject } from './types';

const headache: RowCoding = {
  verbatim: 'HEADACHE',
  meddra_version: '90.0',
  method: 'exact',
  llt: { code: 90000101, name: 'Headache' },
  pt: { code: 90000100, name: 'Headache' },
  soc: { code: 90000010, name: 'Nervous system disorders' },
};
const def = { adverse_events: { form: 'AE', group: 'AE', term: 'AETERM' } };

describe('isAdverseEventGroup', () => {
  it('is the AE log of the study only', () => {
    expect(isAdverseEventGroup(def, 'AE', 'AE')).toBe(true);
    expect(isAdverseEventGroup(def, 'CM', 'AE')).toBe(false);
    expect(isAdverseEventGroup(def, 'AE', 'OTHER')).toBe(false);
    expect(isAdverseEventGroup({}, 'AE', 'AE')).toBe(false);
  });
});

describe('codingSummary and codingDetail', () => {
  it('says PT and SOC, or plainly that the term is not coded', () => {
    expect(codingSummary(headache)).toBe('Headache (Nervous system disorders)');
    expect(codingSummary(undefined)).toBe('not coded');
  });

  it('gives LLT, version and method, with codes only when shown', () => {
    expect(codingDetail(headache, false)).toBe(
      'LLT Headache · PT Headache · SOC Nervous system disorders · MedDRA 90.0, the autocoder\'s exact match; verbatim "HEADACHE"',
    );
    expect(codingDetail(headache, true)).toContain('LLT Headache 90000101 · PT Headache 90000100 · SOC Nervous system disorders 90000010');
  });
});

describe('adverseEvents', () => {
  it('lists the AE rows of every visit in schedule order, coded or not', () => {
    const subject: Pick<Subject, 'visits'> = {
      visits: {
        AEFU: { missed: false, forms: { AE: { items: {}, rows: { AE: [{ row: 1, items: { AETERM: { value: 'Rash', verified: false } } }] }, frozen: false, locked: false } } },
        LOGS: {
          missed: false,
          forms: {
            AE: {
              items: {},
              rows: { AE: [{ row: 2, items: { AETERM: { value: 'HEADACHE', verified: false } }, coding: headache }, { row: 3, items: {} }] },
              frozen: false,
              locked: false,
            },
            CM: { items: {}, rows: { AE: [{ row: 1, items: { AETERM: { value: 'not an AE', verified: false } } }] }, frozen: false, locked: false },
          },
        },
      },
    };
    expect(adverseEvents(def, subject, ['LOGS', 'AEFU'])).toEqual([
      { visit: 'LOGS', row: 2, term: 'HEADACHE', coding: headache },
      { visit: 'LOGS', row: 3, term: '', coding: undefined },
      { visit: 'AEFU', row: 1, term: 'Rash', coding: undefined },
    ]);
    expect(adverseEvents({}, subject, [])).toEqual([]);
  });
});
