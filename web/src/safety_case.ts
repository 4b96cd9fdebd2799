// How a safety case's workflow reads on screen (doc/safety_cases.md): its
// stage in words, what each event of its history did, the E2B findings
// split into what refuses a message and what only warns, and which
// destinations are still owed a report. The server decides; these only say.
import type { E2bFinding, JsonValue, SafetyCaseDetail, SafetyHistoryEntry } from './types';

export const STAGE_WORDS: Record<string, string> = {
  triage: 'awaiting triage',
  invalid: 'not a valid case yet (awaiting information)',
  duplicate: 'duplicate of another case',
  coding: 'awaiting MedDRA coding',
  medical_review: 'awaiting medical review',
  approval: 'awaiting approval',
  submission: 'to be submitted',
  awaiting_ack: 'submitted, awaiting acknowledgement',
  correction: 'rejected by a receiver: to be corrected and sent again',
  complete: 'complete: every report sent and accepted',
  closed: 'closed: not a SUSAR, nothing to expedite',
  nullification: 'nullification proposed (its AE row was removed)',
  nullified: 'nullified',
};

export function stageText(stage: string): string {
  return STAGE_WORDS[stage] ?? stage.replace(/_/g, ' ');
}

export const CAUSALITY_WORDS: Record<string, string> = { related: 'related', not_related: 'not related' };

// A case's findings from the schema and the receiver's rules: rejections
// stop the message being sent, warnings travel with it.
export function splitFindings(findings: E2bFinding[]): { rejections: E2bFinding[]; warnings: E2bFinding[] } {
  return { rejections: findings.filter((f) => f.rejection), warnings: findings.filter((f) => !f.rejection) };
}

function text(v: JsonValue | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object' && !Array.isArray(v) && 'name' in v) return String(v.name);
  if (Array.isArray(v)) return v.map((x) => text(x)).join('; ');
  return String(v);
}

// What one event of the case did, in words, with its key details.
export function historyText(e: SafetyHistoryEntry): string {
  const d = e.details ?? {};
  switch (e.type) {
    case 'safety.case.opened':
      return 'Case opened: the site saved a serious adverse event';
    case 'safety.case.followup':
      return 'Follow-up information: the AE row changed';
    case 'safety.case.nullification_proposed':
      return 'AE row removed: nullification proposed';
    case 'safety.case.triaged': {
      const missing = Array.isArray(d.missing) && d.missing.length ? ` (missing: ${text(d.missing)})` : '';
      if (d.duplicate_of) return `Triaged: duplicate of ${text(d.duplicate_of)}`;
      if (d.valid === false) return `Triaged: not valid yet${d.note ? ` — ${text(d.note)}` : ''}${missing}`;
      const possible = Array.isArray(d.possible_duplicates) && d.possible_duplicates.length
        ? `; possible duplicates: ${text(d.possible_duplicates)}` : '';
      return `Triaged: valid${possible}`;
    }
    case 'safety.case.coded':
      // A recoding (safety.recode) carries the same LLT to a newer MedDRA version.
      if (d.recoded_from) {
        return `Recoded from MedDRA ${text(d.recoded_from)} to ${text(d.meddra_version)}: ${text(d.llt)} (PT ${text(d.pt)}, SOC ${text(d.soc)})`;
      }
      return `Coded "${text(d.verbatim)}" as ${text(d.llt)} (PT ${text(d.pt)}, SOC ${text(d.soc)}), MedDRA ${text(d.meddra_version)}` +
        (d.method ? `, ${methodText(text(d.method))}` : '');
    case 'safety.case.assessed':
      return `Medical review of version ${text(d.version)}: sponsor causality ${CAUSALITY_WORDS[text(d.sponsor_causality)] ?? text(d.sponsor_causality)}` +
        ` (investigator: ${text(d.investigator_causality) || 'not given'}), ${text(d.expectedness)}` +
        (d.rsi_document ? ` against ${text(d.rsi_document)}` : '') +
        (d.susar === true ? ': a SUSAR' : d.susar === false ? ': not a SUSAR' : '') +
        (d.comment ? ` — ${text(d.comment)}` : '');
    case 'safety.case.approved':
      return `Approved version ${text(d.version)}`;
    case 'safety.case.submitted':
      return `${d.nullification === true ? 'Nullification report' : 'Report'} ${text(d.submission)} (version ${text(d.version)}) submitted to ${text(d.destination)}` +
        (d.batch_number ? `, batch ${text(d.batch_number)}` : '') +
        (Array.isArray(d.warnings) && d.warnings.length ? `, ${d.warnings.length} ${d.warnings.length === 1 ? 'warning' : 'warnings'}` : '');
    case 'safety.case.acknowledged':
      return `Report ${text(d.submission)} ${text(d.ack) || 'acknowledged'}${d.code ? ` (${text(d.code)})` : ''}` +
        (Array.isArray(d.errors) && d.errors.length ? `: ${text(d.errors)}` : '');
    case 'safety.case.nullified':
      return 'Nullified';
    case 'safety.case.unblinded':
      return 'Unblinded for expedited reporting';
    default:
      return e.type.replace(/^safety\.case\./, '').replace(/_/g, ' ');
  }
}

// How a coding was reached.
export function methodText(method: string): string {
  if (method === 'exact') return 'the autocoder\'s exact match';
  if (method === 'normalised') return 'the autocoder\'s match after normalising the term';
  if (method === 'chosen' || method === 'manual') return 'chosen by the physician';
  return method.replace(/_/g, ' ');
}

// The `llt` a coding command sends: the code chosen; none when the
// autocoder's own match for the case's term is taken (the server codes it
// again and records its method).
export function lltToSend(caseTerm: string, lookedUp: string, rule: string, chosen: number): string | undefined {
  const own = lookedUp.trim().toUpperCase() === caseTerm.trim().toUpperCase();
  if (own && (rule === 'exact' || rule === 'normalised')) return undefined;
  return String(chosen);
}

// The destinations still owed a report, as far as the case's submissions
// tell: for a nullified case, each that received it and has no
// nullification report (not rejected); otherwise each not yet sent the
// current version, or that rejected it.
export function destinationsOwed(
  c: Pick<SafetyCaseDetail, 'destinations' | 'submissions' | 'version' | 'stage' | 'nullification_reason'>,
): string[] {
  if (c.stage !== 'submission' && c.stage !== 'correction') return [];
  if (c.nullification_reason !== undefined) {
    return c.destinations.filter(
      (d) =>
        c.submissions.some((s) => s.destination === d && !s.nullification) &&
        !c.submissions.some((s) => s.destination === d && s.nullification && s.ack !== 'rejected'),
    );
  }
  return c.destinations.filter((d) => {
    const sent = c.submissions.filter((s) => s.destination === d && s.version === c.version);
    return sent.length === 0 || sent[sent.length - 1].ack === 'rejected';
  });
}

// An acknowledgement's words.
export function ackText(ack: string): string {
  return ack === 'awaiting' ? 'awaiting acknowledgement' : ack;
}
