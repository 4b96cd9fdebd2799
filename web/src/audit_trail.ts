// Reading a subject's audit trail from the API (doc/api.md, "Audit
// trail"): a page at a time, or every page in turn for a caller that needs
// the whole of a small part of it (one form's history).
import { downloadFile, get, subjectPath } from './api';
import type { AuditEntry } from './types';

export interface AuditPage {
  entries: AuditEntry[];
  limit: number;
  // The cursor of the page after this one (the `after` to ask with); absent on the last.
  next?: string;
}

export function auditPath(study: string, subject: string, params: URLSearchParams): string {
  const q = params.toString();
  return subjectPath(study, subject) + '/audit' + (q ? '?' + q : '');
}

export function readAuditPage(study: string, subject: string, params: URLSearchParams): Promise<AuditPage> {
  return get<AuditPage>(auditPath(study, subject, params));
}

// Every entry the filters match, page after page.
export async function readWholeAuditTrail(study: string, subject: string, params: URLSearchParams): Promise<AuditEntry[]> {
  const all: AuditEntry[] = [];
  const q = new URLSearchParams(params);
  q.set('limit', '1000');
  for (;;) {
    const page = await readAuditPage(study, subject, q);
    all.push(...page.entries);
    if (!page.next) return all;
    q.set('after', page.next);
  }
}

// The CSV export of the filtered trail, streamed by the server, saved as a
// file; asked for with the acting role, as the page's own requests are.
export async function downloadAuditCsv(study: string, subject: string, params: URLSearchParams): Promise<void> {
  const q = new URLSearchParams(params);
  q.delete('after');
  q.delete('limit');
  q.set('format', 'csv');
  await downloadFile(auditPath(study, subject, q), `audit-${study}-${subject}.csv`);
}
