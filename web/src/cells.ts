// The state of one form of one visit at a glance, for the casebook's grid:
// completion, open queries, verification, signatures, freeze and lock.
import type { QueryPlace, Signature, Subject } from './types';

export interface CellState {
  status: string;
  openQueries: number;
  verified: boolean;
  signed: boolean;
  brokenSignature: boolean;
  frozen: boolean;
  locked: boolean;
}

// Open or answered: still waiting for the site or for the monitor.
export function unresolved(q: QueryPlace): boolean {
  return q.state === 'open' || q.state === 'answered';
}

// The state of one form of one visit, from the casebook and the schedule.
export function cellState(subject: Subject, visit: string, form: string, status: string): CellState {
  const fs = subject.visits[visit]?.forms[form];
  const values = fs
    ? [...Object.values(fs.items), ...Object.values(fs.rows).flatMap((rows) => rows.flatMap((r) => Object.values(r.items)))]
    : [];
  const entered = values.filter((v) => v.value !== null || v.not_done);
  const covers = (s: Signature) => (!s.visit || s.visit === visit) && (!s.form || s.form === form);
  return {
    status,
    openQueries: subject.queries.filter((q) => q.visit === visit && q.form === form && unresolved(q)).length,
    verified: entered.length > 0 && entered.every((v) => v.verified),
    signed: subject.signatures.some((s) => !s.broken && covers(s)),
    brokenSignature: subject.signatures.some((s) => s.broken && covers(s)) && !subject.signatures.some((s) => !s.broken && covers(s)),
    frozen: !!fs?.frozen || subject.frozen,
    locked: !!fs?.locked || subject.locked,
  };
}

export function cellWords(c: CellState): string[] {
  const words = [c.status];
  if (c.openQueries) words.push(`${c.openQueries} open ${c.openQueries === 1 ? 'query' : 'queries'}`);
  if (c.verified) words.push('verified');
  if (c.signed) words.push('signed');
  if (c.brokenSignature) words.push('signature broken');
  if (c.frozen) words.push('frozen');
  if (c.locked) words.push('locked');
  return words;
}
