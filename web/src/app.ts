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

export function itemLabel(ctx: Context, form: string, item: string): string {
  const f = ctx.definition.forms.find((x) => x.id === form);
  for (const g of f?.groups ?? []) {
    const it = g.items.find((i) => i.id === item);
    if (it) return it.label;
  }
  return item;
}
