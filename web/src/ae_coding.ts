// An adverse event's MedDRA coding as the casebook and the form show it:
// the preferred term and its system organ class, which listings and
// tabulations count by; the lowest level term, version and how it was coded
// in a detail line (and on hover); codes only for those who show codes. An
// AE row without a coding says so plainly: someone has to code it.
import { html, type TemplateResult } from 'lit-html';
import { methodText } from './safety_case';
import type { Definition, RowCoding, Subject } from './types';

// Whether a form's repeating group is the study's AE log.
export function isAdverseEventGroup(def: Pick<Definition, 'adverse_events'>, form: string, group: string): boolean {
  return !!def.adverse_events && def.adverse_events.form === form && def.adverse_events.group === group;
}

// "Headache (Nervous system disorders)", or "not coded".
export function codingSummary(k: RowCoding | undefined): string {
  return k ? `${k.pt.name} (${k.soc.name})` : 'not coded';
}

// The rest of the coding in a sentence, with the codes when they are shown.
export function codingDetail(k: RowCoding, codes: boolean): string {
  const code = (c: number) => (codes ? ` ${c}` : '');
  return `LLT ${k.llt.name}${code(k.llt.code)} · PT ${k.pt.name}${code(k.pt.code)} · SOC ${k.soc.name}${code(k.soc.code)}` +
    ` · MedDRA ${k.meddra_version}, ${methodText(k.method)}; verbatim "${k.verbatim}"`;
}

// For a table cell: the PT over its SOC, the detail on hover and, when
// `detail`, on a line of its own.
export function codingCell(k: RowCoding | undefined, codes: boolean, detail = false): TemplateResult {
  if (!k) return html`<span class="meddra not-coded">not coded</span>`;
  const more = codingDetail(k, codes);
  return html`<span class="meddra" title=${more}>
    <span class="meddra-pt">${k.pt.name}${codes ? html` <span class="code">${k.pt.code}</span>` : ''}</span>
    <span class="where">${k.soc.name}${codes ? html` <span class="code">${k.soc.code}</span>` : ''}</span>
    ${detail ? html`<span class="where meddra-detail">${more}</span>` : ''}
  </span>`;
}

export interface AdverseEventLine {
  visit: string;
  row: number;
  term: string;
  coding?: RowCoding;
}

// The subject's adverse events, every visit's AE log in schedule order
// (`visits`, the schedule's order; others after), rows in their order.
export function adverseEvents(def: Pick<Definition, 'adverse_events'>, subject: Pick<Subject, 'visits'>,
  visits: string[]): AdverseEventLine[] {
  const ae = def.adverse_events;
  if (!ae) return [];
  const order = (v: string) => {
    const i = visits.indexOf(v);
    return i < 0 ? visits.length : i;
  };
  const out: AdverseEventLine[] = [];
  for (const visit of Object.keys(subject.visits).sort((a, b) => order(a) - order(b))) {
    for (const r of subject.visits[visit].forms[ae.form]?.rows[ae.group] ?? []) {
      const value = r.items[ae.term]?.value;
      out.push({ visit, row: r.row, term: typeof value === 'string' ? value : '', coding: r.coding });
    }
  }
  return out;
}
