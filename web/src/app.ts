// What every page knows: who is logged in, the study and the role they act
// in, the study's definition, and how to move to another page.
import type { TemplateResult } from 'lit-html';
import type { Definition, Me, StudySummary } from './types';

export interface Context {
  me: Me;
  studies: StudySummary[];
  study: StudySummary;
  definition: Definition;
  role: string;
  navigate(path: string): void;
  // Draws the current page again after its state changed.
  update(): void;
}

// A page: its title, how it is drawn, and what it does when the study changes.
export interface View {
  title(): string;
  template(): TemplateResult;
  // A change arrived over the server-sent events (doc/api.md).
  live?(event: { type: string; stream: string }): void;
  // Leaving the page with unsaved input asks first.
  unsaved?(): boolean;
  dispose?(): void;
}

export type Params = Record<string, string>;

export function studyLink(ctx: Context, rest = ''): string {
  return '/studies/' + encodeURIComponent(ctx.study.id) + rest;
}

export function subjectLink(ctx: Context, subject: string, rest = ''): string {
  return studyLink(ctx, '/subjects/' + encodeURIComponent(subject) + rest);
}

export function formLink(ctx: Context, subject: string, visit: string, form: string, extra = ''): string {
  return subjectLink(ctx, subject, '/visits/' + encodeURIComponent(visit) + '/forms/' + encodeURIComponent(form) + extra);
}

export function formName(ctx: Context, form: string): string {
  return ctx.definition.forms.find((f) => f.id === form)?.name ?? form;
}

export function visitName(ctx: Context, visit: string): string {
  const [base, occurrence] = visit.split('#');
  const name = ctx.definition.visits.find((v) => v.id === base)?.name ?? base;
  return occurrence ? `${name} #${occurrence}` : name;
}

// Visit instances (WEEK2, PHONE#2, AEFU#3) in the schedule's order, the
// study file's order of its visits and then occurrence, never by their codes
// (which put BASELINE before SCREENING1 and WEEK10 before WEEK2).
export function inScheduleOrder(ctx: Context, visits: Iterable<string>): string[] {
  const position = (visit: string): [number, number] => {
    const [base, occurrence] = visit.split('#');
    const i = ctx.definition.visits.findIndex((v) => v.id === base);
    return [i < 0 ? ctx.definition.visits.length : i, Number(occurrence ?? 1)];
  };
  return [...visits].sort((a, b) => {
    const [ia, na] = position(a);
    const [ib, nb] = position(b);
    return ia - ib || na - nb || (a < b ? -1 : a > b ? 1 : 0);
  });
}

// A visit's forms in the order the visit lists them, then the study's order.
export function formsInOrder(ctx: Context, visit: string, forms: Iterable<string>): string[] {
  const listed = ctx.definition.visits.find((v) => v.id === visit.split('#')[0])?.forms ?? [];
  const rank = (f: string) => {
    const i = listed.indexOf(f);
    return i >= 0 ? i : listed.length + ctx.definition.forms.findIndex((d) => d.id === f);
  };
  return [...forms].sort((a, b) => rank(a) - rank(b));
}

export function itemLabel(ctx: Context, form: string, item: string): string {
  const f = ctx.definition.forms.find((x) => x.id === form);
  for (const g of f?.groups ?? []) {
    const it = g.items.find((i) => i.id === item);
    if (it) return it.label;
  }
  return item;
}

// A page's data fetched again once live changes stop arriving for `delayMs`:
// several events often come together (a save with the queries it opened),
// and one fetch answers them all. dispose() when the page is left, so that
// no fetch follows.
export class LiveReload {
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly reload: () => void,
    private readonly delayMs = 400,
  ) {}

  changed(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.reload();
    }, this.delayMs);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

// Filters change faster than answers come back, and behind a load balancer
// two servers may answer out of order: a page shows only the answer to the
// last request it made. begin() when a request starts; the check it returns
// tells, when the answer arrives, whether a later request has started since.
export class LatestAnswer {
  private started = 0;

  begin(): () => boolean {
    const mine = ++this.started;
    return () => mine === this.started;
  }
}
