import { describe, expect, it } from 'vitest';
import { intakeCommand } from './safety_intake';

function form(fields: [string, string][]): FormData {
  const f = new FormData();
  for (const [k, v] of fields) f.append(k, v);
  return f;
}

describe('intakeCommand', () => {
  it('makes a safety.receive command of what was filled in', () => {
    const cmd = intakeCommand(
      form([
        ['source', 'spontaneous'],
        ['received', '2026-11-30'],
        ['qualification', 'pharmacist'],
        ['family', ' Lee '],
        ['country', 'us'],
        ['sex', ''],
        ['age', ''],
        ['term', 'Fainted'],
        ['outcome', 'RECOVERED'],
        ['criteria', 'hospitalisation'],
        ['criteria', 'other_medically_important'],
        ['narrative', ''],
      ]),
    );
    expect(cmd).toEqual({
      op: 'safety.receive',
      source: 'spontaneous',
      received: '2026-11-30',
      reporter: { qualification: 'pharmacist', family: 'Lee', country: 'US' },
      event: { term: 'Fainted', outcome: 'RECOVERED', criteria: ['hospitalisation', 'other_medically_important'] },
    });
  });

  it('leaves out a patient and a reporter of whom nothing is known', () => {
    const cmd = intakeCommand(form([['source', 'literature'], ['received', '2026-11-30'], ['term', 'Rash'], ['reference', 'Lancet 2026;1:1']]));
    expect(cmd.patient).toBeUndefined();
    expect(cmd.reporter).toBeUndefined();
    expect(cmd.reference).toBe('Lancet 2026;1:1');
    expect(cmd.event).toEqual({ term: 'Rash', criteria: [] });
  });

  it('makes a safety.update command of new information on a case, with its reason', () => {
    const cmd = intakeCommand(
      form([
        ['source', 'spontaneous'],
        ['received', '2026-11-30'],
        ['qualification', 'physician'],
        ['term', 'Syncope'],
        ['outcome', 'RECOVERED'],
        ['criteria', 'hospitalisation'],
        ['reason', 'the reporter called back: recovered'],
      ]),
      'DC-3',
    );
    expect(cmd).toEqual({
      op: 'safety.update',
      case: 'DC-3',
      source: 'spontaneous',
      received: '2026-11-30',
      reporter: { qualification: 'physician' },
      event: { term: 'Syncope', outcome: 'RECOVERED', criteria: ['hospitalisation'] },
      reason: 'the reporter called back: recovered',
    });
    expect(intakeCommand(form([['term', 'Syncope']]), 'DC-3').reason).toBeUndefined();
  });
});
