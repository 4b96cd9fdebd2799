import { describe, expect, it } from 'vitest';
import { ackText, destinationsOwed, historyText, lltToSend, splitFindings, stageText } from './safety_case';
import type { SafetySubmission } from './types';

describe('stageText', () => {
  it('says every stage of the workflow in words', () => {
    expect(stageText('triage')).toBe('awaiting triage');
    expect(stageText('medical_review')).toBe('awaiting medical review');
    expect(stageText('awaiting_ack')).toBe('submitted, awaiting acknowledgement');
    expect(stageText('complete')).toMatch(/^complete/);
    expect(stageText('closed')).toMatch(/not a SUSAR/);
    for (const s of ['invalid', 'duplicate', 'coding', 'approval', 'submission', 'correction', 'nullification', 'nullified']) {
      expect(stageText(s)).not.toContain('_');
    }
  });

  it('writes a stage it does not know without underscores', () => {
    expect(stageText('some_new_stage')).toBe('some new stage');
  });
});

describe('splitFindings', () => {
  it('puts rejections apart from warnings, keeping their order', () => {
    const f = (rule: string, rejection: boolean) => ({ rule, element: 'E', rejection, message: rule });
    const { rejections, warnings } = splitFindings([f('a', false), f('b', true), f('c', false), f('d', true)]);
    expect(rejections.map((x) => x.rule)).toEqual(['b', 'd']);
    expect(warnings.map((x) => x.rule)).toEqual(['a', 'c']);
  });
});

describe('historyText', () => {
  const at = { at: '2026-12-01T10:00:00Z', by: 'safety.1', role: 'safety_physician' };
  it('says what triage decided', () => {
    expect(historyText({ ...at, type: 'safety.case.triaged', details: { valid: true, possible_duplicates: [] } })).toBe('Triaged: valid');
    expect(historyText({ ...at, type: 'safety.case.triaged', details: { valid: false, note: 'no onset' } })).toBe('Triaged: not valid yet — no onset');
    expect(historyText({ ...at, type: 'safety.case.triaged', details: { valid: true, duplicate_of: '701-1001-SAE1' } }))
      .toBe('Triaged: duplicate of 701-1001-SAE1');
  });

  it('names the coding with its hierarchy and how it was reached', () => {
    const details = {
      verbatim: 'SYNCOPE AT HOME', meddra_version: 'DEMO-1.0', method: 'chosen',
      llt: { code: 1, name: 'Syncope' }, pt: { code: 2, name: 'Syncope' }, soc: { code: 3, name: 'Nervous system disorders' },
    };
    expect(historyText({ ...at, type: 'safety.case.coded', details }))
      .toBe('Coded "SYNCOPE AT HOME" as Syncope (PT Syncope, SOC Nervous system disorders), MedDRA DEMO-1.0, chosen by the physician');
    expect(historyText({ ...at, type: 'safety.case.coded', details: { ...details, meddra_version: '91.0', recoded_from: '90.0',
      soc: { code: 4, name: 'Cardiac disorders' } } }))
      .toBe('Recoded from MedDRA 90.0 to 91.0: Syncope (PT Syncope, SOC Cardiac disorders)');
  });

  it('says the assessment, the submission and the acknowledgement', () => {
    expect(historyText({ ...at, type: 'safety.case.assessed', details: {
      version: 1, sponsor_causality: 'not_related', investigator_causality: 'POSSIBLE', expectedness: 'unexpected',
      rsi_document: 'IB 7', susar: true, comment: 'alternative cause' } }))
      .toBe('Medical review of version 1: sponsor causality not related (investigator: POSSIBLE), unexpected against IB 7: a SUSAR — alternative cause');
    expect(historyText({ ...at, type: 'safety.case.submitted', details: {
      submission: 2, version: 1, destination: 'EU', batch_number: 'B-2', nullification: false, warnings: ['w'] } }))
      .toBe('Report 2 (version 1) submitted to EU, batch B-2, 1 warning');
    expect(historyText({ ...at, type: 'safety.case.acknowledged', details: { submission: 1, ack: 'rejected', code: 'AE', errors: ['bad date', 'no drug'] } }))
      .toBe('Report 1 rejected (AE): bad date; no drug');
    expect(historyText({ ...at, type: 'safety.case.approved', details: { version: 3 } })).toBe('Approved version 3');
    expect(historyText({ ...at, type: 'safety.case.something_else', details: {} })).toBe('something else');
  });
});

describe('lltToSend', () => {
  it('sends no code when the autocoder matched the case\'s own term', () => {
    expect(lltToSend('Syncope', 'syncope ', 'exact', 10)).toBeUndefined();
    expect(lltToSend('SYNCOPE', 'SYNCOPE', 'normalised', 10)).toBeUndefined();
  });
  it('sends the chosen code for a candidate or a term looked up', () => {
    expect(lltToSend('SYNCOPE AT HOME', 'SYNCOPE AT HOME', 'candidates', 10)).toBe('10');
    expect(lltToSend('SYNCOPE AT HOME', 'Syncope', 'exact', 10)).toBe('10');
  });
});

describe('destinationsOwed', () => {
  const sent = (destination: string, version: number, ack: SafetySubmission['ack']) =>
    ({ destination, version, ack }) as SafetySubmission;
  const destinations = ['FDA', 'EU'];
  it('owes nothing outside submission and correction', () => {
    expect(destinationsOwed({ destinations, submissions: [], version: 1, stage: 'approval' })).toEqual([]);
  });
  it('owes the destinations not yet sent this version, and those that rejected it', () => {
    expect(destinationsOwed({ destinations, submissions: [], version: 1, stage: 'submission' })).toEqual(['FDA', 'EU']);
    expect(destinationsOwed({ destinations, submissions: [sent('FDA', 1, 'awaiting')], version: 1, stage: 'submission' })).toEqual(['EU']);
    expect(destinationsOwed({ destinations, submissions: [sent('FDA', 1, 'rejected'), sent('EU', 1, 'accepted')], version: 1, stage: 'correction' }))
      .toEqual(['FDA']);
    expect(destinationsOwed({ destinations, submissions: [sent('FDA', 1, 'accepted'), sent('EU', 1, 'accepted')], version: 2, stage: 'submission' }))
      .toEqual(['FDA', 'EU']);
  });
  it('owes a nullification to those that received the case, until one is sent', () => {
    const fda = { ...sent('FDA', 1, 'accepted'), nullification: false };
    const nullified = { destinations, version: 2, stage: 'submission', nullification_reason: 'entered in error' };
    expect(destinationsOwed({ ...nullified, submissions: [fda] })).toEqual(['FDA']);
    expect(destinationsOwed({ ...nullified, submissions: [fda, { ...sent('FDA', 2, 'rejected'), nullification: true }] })).toEqual(['FDA']);
    expect(destinationsOwed({ ...nullified, submissions: [fda, { ...sent('FDA', 2, 'awaiting'), nullification: true }] })).toEqual([]);
  });
});

describe('ackText', () => {
  it('says an acknowledgement awaited in words', () => {
    expect(ackText('awaiting')).toBe('awaiting acknowledgement');
    expect(ackText('accepted')).toBe('accepted');
  });
});
