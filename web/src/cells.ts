// The state of one form of one visit at a glance, for the casebook's grid:
// completion, open queries, verification, signatures, freeze and lock.
import { awaitsReview, awaitsSite, queryCount } from './query_states';
import type { Signature, Subject } from './types';

export { unresolved } from './query_states';

export interface CellState {
  status: string;
  openQueries: number; // awaiting the site
  answeredQueries: number; // awaiting the monitor or data manager
  verified: boolean;
  signed: boolean;
  brokenSignature: boolean;
  frozen: boolean;
  locked: boolean;
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
    openQueries: subject.queries.filter((q) => q.visit === visit && q.form === form && awaitsSite(q)).length,
    answeredQueries: subject.queries.filter((q) => q.visit === visit && q.form === form && awaitsReview(q)).length,
    verified: entered.length > 0 && entered.every((v) => v.verified),
    signed: subject.signatures.some((s) => !s.broken && covers(s)),
    brokenSignature: subject.signatures.some((s) => s.broken && covers(s)) && !subject.signatures.some((s) => !s.broken && covers(s)),
    frozen: !!fs?.frozen || subject.frozen,
    locked: !!fs?.locked || subject.locked,
  };
}

export function cellWords(c: CellState): string[] {
  const words = [c.status];
  if (c.openQueries) words.push(queryCount(c.openQueries, 'open'));
  if (c.answeredQueries) words.push(queryCount(c.answeredQueries, 'answered'));
  if (c.verified) words.push('verified');
  if (c.signed) words.push('signed');
  if (c.brokenSignature) words.push('signature broken');
  if (c.frozen) words.push('frozen');
  if (c.locked) words.push('locked');
  return words;
}
