// The states of a query, defined once for every page as the server defines
// them (src/capture/state.h, doc/api.md "Query states"): the dashboard's
// tiles, the inbox's filter, the casebook's cells and the form's chips all
// count and name them from here.
import type { AuditEntry, QueryPlace, RaisedBy } from './types';

export type QueryState = 'open' | 'answered' | 'closed' | 'cancelled';

export const QUERY_STATES: QueryState[] = ['open', 'answered', 'closed', 'cancelled'];

// Who acts next, in words for the filter and the tiles.
export const QUERY_STATE_MEANING: Record<QueryState, string> = {
  open: 'awaiting the site',
  answered: 'awaiting the monitor or data manager',
  closed: 'resolved',
  cancelled: 'withdrawn',
};

// Open: the site has to answer it.
export function awaitsSite(q: Pick<QueryPlace, 'state'>): boolean {
  return q.state === 'open';
}

// Answered: the monitor or data manager has to close or re-open it.
export function awaitsReview(q: Pick<QueryPlace, 'state'>): boolean {
  return q.state === 'answered';
}

// Open or answered: still waiting for someone (a database lock waits for none).
export function unresolved(q: Pick<QueryPlace, 'state'>): boolean {
  return awaitsSite(q) || awaitsReview(q);
}

// "1 open query", "2 answered queries": a count in words, or '' for none.
export function queryCount(n: number, state: QueryState): string {
  return n ? `${n} ${state} ${n === 1 ? 'query' : 'queries'}` : '';
}

// Who raised a query, as people read it: an edit check is the system, never
// the user whose save made it fail; its id only for those who show codes.
export function raisedByText(by: RaisedBy | undefined, codes: boolean): string {
  if (!by) return '';
  if (by.kind === 'edit_check') return codes ? `edit check ${by.check}` : 'automatic edit check';
  return by.user;
}

// The "Who" of an audit entry: the opening of an edit check's query is the
// system's, after the save of the user named; the check's id only for those
// who show codes (site staff read no developer text).
export function auditWho(e: AuditEntry, codes: boolean): string {
  if (e.raised_by?.kind === 'edit_check') return `${raisedByText(e.raised_by, codes)}, after a save by ${e.user}`;
  return e.user;
}
