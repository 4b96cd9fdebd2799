// The application shell: login, the study's navigation, the router, and the
// live feed of changes (server-sent events) that keeps pages current.
import { html, nothing, render, type TemplateResult } from 'lit-html';
import './style.css';
import { ApiError, get, onSessionLost, request, setActingRole, setCsrfToken, studyPath } from './api';
import type { Context, Params, View } from './app';
import { ROLE_NAMES, can } from './roles';
import type { Definition, Me, StudySummary } from './types';
import { readOnlyNote } from './read_only';
import { announce, errorBox, openDialog } from './ui';
import { AdminView } from './views/admin';
import { AuditView } from './views/audit';
import { CasebookView } from './views/casebook';
import { FormView } from './views/form';
import { HomeView } from './views/home';
import { LockView } from './views/lock';
import { QueriesView } from './views/queries';
import { ReportsView } from './views/reports';
import { SafetyView } from './views/safety';
import { SafetyCaseView } from './views/safety_case';
import { SafetyIntakeView } from './views/safety_intake';
import { SafetyOutputsView } from './views/safety_outputs';
import { SdvView } from './views/sdv';
import { SubjectsView } from './views/subjects';

const root = document.getElementById('app')!;

let me: Me | null = null;
let studies: StudySummary[] = [];
const definitions = new Map<string, Definition>();
let view: View | null = null;
let context: Context | null = null;
let events: EventSource | null = null;
let eventsStudy = '';
let loginMessage = '';

type Route = { pattern: RegExp; keys: string[]; make: (ctx: Context, p: Params, q: URLSearchParams) => View };
const routes: Route[] = [];
function route(path: string, make: Route['make']): void {
  const keys: string[] = [];
  const pattern = new RegExp(
    '^' +
      path.replace(/:([a-z]+)/g, (_, k: string) => {
        keys.push(k);
        return '([^/]+)';
      }) +
      '/?$',
  );
  routes.push({ pattern, keys, make });
}
route('/studies/:study', (c) => new HomeView(c));
route('/studies/:study/subjects', (c, _p, q) => new SubjectsView(c, q));
route('/studies/:study/subjects/:subject', (c, p) => new CasebookView(c, p.subject));
route('/studies/:study/subjects/:subject/audit', (c, p, q) => new AuditView(c, p.subject, q));
route('/studies/:study/subjects/:subject/visits/:visit/forms/:form', (c, p, q) => new FormView(c, p.subject, p.visit, p.form, q));
route('/studies/:study/queries', (c, _p, q) => new QueriesView(c, q));
route('/studies/:study/sdv', (c, _p, q) => new SdvView(c, q));
route('/studies/:study/reports', (c, _p, q) => new ReportsView(c, q));
route('/studies/:study/safety', (c, _p, q) => new SafetyView(c, q));
route('/studies/:study/safety/new', (c) => new SafetyIntakeView(c));
route('/studies/:study/safety/outputs', (c) => new SafetyOutputsView(c));
route('/studies/:study/safety/cases/:case', (c, p) => new SafetyCaseView(c, p.case));
route('/studies/:study/safety/cases/:case/update', (c, p) => new SafetyIntakeView(c, p.case));
route('/studies/:study/admin', (c) => new AdminView(c));
route('/studies/:study/lock', (c) => new LockView(c));

function roleKey(study: string): string {
  return 'trialcore.role.' + study;
}

function navigate(path: string, replace = false): void {
  if (view?.unsaved?.() && !window.confirm('Leave this form? What you typed and did not save will be lost.')) return;
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  void show();
}

async function show(): Promise<void> {
  shownAt = location.pathname + location.search;
  view?.dispose?.();
  view = null;
  if (!me) return drawLogin();
  const url = new URL(location.href);
  // Matched encoded: a visit such as PHONE#2 travels as PHONE%232; each part is decoded once matched.
  const path = url.pathname;
  if (path === '/' || path === '/login') {
    if (studies.length === 1) return navigate('/studies/' + encodeURIComponent(studies[0].id), true);
    return draw(html`<h1>Your studies</h1>
      ${studies.length === 0
        ? html`<p>You hold no role on any study yet. Ask a study administrator for access.</p>`
        : html`<ul class="cards">
            ${studies.map(
              (s) => html`<li><a href="/studies/${encodeURIComponent(s.id)}">${s.id}</a> — ${s.title} (version ${s.version})</li>`,
            )}
          </ul>`}`);
  }
  for (const r of routes) {
    const m = r.pattern.exec(path);
    if (!m) continue;
    const params: Params = {};
    r.keys.forEach((k, i) => (params[k] = decodeURIComponent(m[i + 1])));
    const study = studies.find((s) => s.id === params.study);
    if (!study) return draw(html`<h1>Not found</h1><p>There is no study ${params.study} for you.</p>`);
    // Every request of the page, the definition's included, goes in the acting role.
    const role = chooseRole(study);
    setActingRole(role);
    let definition = definitions.get(study.id);
    try {
      if (!definition) {
        definition = await get<Definition>(studyPath(study.id));
        definitions.set(study.id, definition);
      }
    } catch (e) {
      return draw(errorBox((e as Error).message));
    }
    context = {
      me,
      studies,
      study,
      definition,
      role,
      navigate,
      update: () => drawView(),
    };
    view = r.make(context, params, url.searchParams);
    listen(study.id);
    drawView();
    return;
  }
  draw(html`<h1>Not found</h1><p>This page does not exist. <a href="/">Back to your studies</a>.</p>`);
}

function chooseRole(study: StudySummary): string {
  const saved = sessionStorage.getItem(roleKey(study.id));
  return saved && study.roles.includes(saved) ? saved : study.roles[0];
}

function listen(study: string): void {
  if (events && eventsStudy === study) return;
  events?.close();
  eventsStudy = study;
  events = new EventSource(studyPath(study) + '/events');
  const forward = (e: MessageEvent) => {
    let data: { type: string; stream: string };
    try {
      data = JSON.parse(e.data) as { type: string; stream: string };
    } catch {
      return; /* keep-alives carry no data */
    }
    // A lock or unlock changes what every page may offer: the banner and the actions follow.
    if (data.type === 'study.locked' || data.type === 'study.unlocked') void refreshStudies();
    view?.live?.(data);
  };
  // Every event type arrives under its own name; listen to the ones pages show.
  for (const type of [
    'form.saved', 'query.opened', 'query.answered', 'query.closed', 'query.cancelled', 'query.reopened',
    'subject.screened', 'subject.enrolled', 'subject.screen_failed', 'subject.withdrawn', 'subject.completed',
    'sdv.verified', 'signature.applied', 'signature.invalidated', 'row.removed', 'visit.missed',
    'form.frozen', 'form.unfrozen', 'form.locked', 'form.unlocked', 'subject.frozen', 'subject.unfrozen',
    'subject.locked', 'subject.unlocked', 'study.locked', 'study.unlocked',
    'safety.case.opened', 'safety.case.followup', 'safety.case.nullification_proposed', 'safety.case.triaged',
    'safety.case.coded', 'safety.case.assessed', 'safety.case.approved', 'safety.case.submitted',
    'safety.case.acknowledged', 'safety.case.nullified', 'safety.case.unblinded',
  ]) {
    events.addEventListener(type, forward as EventListener);
  }
}

// The studies again, for whether each database is locked; the page is drawn anew.
async function refreshStudies(): Promise<void> {
  try {
    studies = (await get<{ studies: StudySummary[] }>('/api/v1/studies')).studies;
  } catch {
    return; // the next page asks again
  }
  const ctx = context;
  const current = ctx && studies.find((s) => s.id === ctx.study.id);
  if (ctx && current) ctx.study = current;
  drawView();
}

function draw(content: TemplateResult | typeof nothing, title = 'trialcore'): void {
  document.title = title;
  // A locked database makes every page of the study read only: said once, above the page.
  const locked = context && view && context.study.locked ? readOnlyNote('database_locked') : nothing;
  render(html`${header()}<main id="main" tabindex="-1">${locked}${content}</main>`, root);
}

function drawView(): void {
  if (!view) return;
  draw(view.template(), view.title() + ' — trialcore');
}

function header(): TemplateResult {
  const ctx = context && view ? context : null;
  const nav = ctx
    ? html`<nav aria-label="Study">
        <a class="nav-home" href="/studies/${encodeURIComponent(ctx.study.id)}">Home</a>
        <a href="/studies/${encodeURIComponent(ctx.study.id)}/subjects">Subjects</a>
        <a href="/studies/${encodeURIComponent(ctx.study.id)}/queries">Queries</a>
        ${can.seeSdvProgress(ctx.role) ? html`<a href="/studies/${encodeURIComponent(ctx.study.id)}/sdv">Verification</a>` : nothing}
        ${can.seeSdvProgress(ctx.role) ? html`<a href="/studies/${encodeURIComponent(ctx.study.id)}/reports">Reports</a>` : nothing}
        ${can.seeSafety(ctx.role) ? html`<a href="/studies/${encodeURIComponent(ctx.study.id)}/safety">Safety</a>` : nothing}
        ${can.administer(ctx.role) ? html`<a href="/studies/${encodeURIComponent(ctx.study.id)}/admin">Admin<span class="label-rest">istration</span></a>` : nothing}
      </nav>`
    : nothing;
  const roles = ctx?.study.roles ?? [];
  return html`<header class="top">
    <a class="brand" href="/">trialcore</a>
    ${ctx
      ? html`<a class="study-name" href="/studies/${encodeURIComponent(ctx.study.id)}" title=${ctx.definition.title}>${ctx.study.id}</a>`
      : nothing}
    ${nav}
    <span class="spacer"></span>
    ${me
      ? html`<span class="who">${me.full_name}</span>
          ${roles.length > 1
            ? html`<label class="role-select"><span class="acting-as">Acting as</span>
                <select @change=${(e: Event) => switchRole((e.target as HTMLSelectElement).value)}>
                  ${roles.map((r) => html`<option value=${r} ?selected=${r === ctx?.role}>${ROLE_NAMES[r] ?? r}</option>`)}
                </select></label>`
            : ctx
              ? html`<span class="role">${ROLE_NAMES[ctx.role] ?? ctx.role}</span>`
              : nothing}
          <button type="button" class="link" @click=${logout}>Log out</button>`
      : nothing}
  </header>`;
}

function switchRole(role: string): void {
  if (!context) return;
  sessionStorage.setItem(roleKey(context.study.id), role);
  definitions.delete(context.study.id);  // what a role may see differs (blinding)
  announce('Now acting as ' + (ROLE_NAMES[role] ?? role));
  void show();
}

async function logout(): Promise<void> {
  if (view?.unsaved?.() && !window.confirm('Log out? What you typed and did not save will be lost.')) return;
  try {
    await request('DELETE', '/api/v1/session', undefined, { relogin: false });
  } catch {
    /* the session may already have ended */
  }
  forget('You have logged out.');
}

function forget(message: string): void {
  me = null;
  studies = [];
  definitions.clear();
  context = null;
  events?.close();
  events = null;
  eventsStudy = '';
  loginMessage = message;
  sessionStorage.clear();
  history.replaceState(null, '', '/');
  void show();
}

async function logIn(user: string, password: string): Promise<Me> {
  const r = await request<Me>('POST', '/api/v1/session', { user, password }, { relogin: false });
  return r.data;
}

async function start(session: Me): Promise<void> {
  me = session;
  setCsrfToken(session.csrf_token);
  setActingRole(null);
  studies = (await get<{ studies: StudySummary[] }>('/api/v1/studies')).studies;
}

function drawLogin(error = ''): void {
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const user = (form.elements.namedItem('user') as HTMLInputElement).value.trim();
    const password = (form.elements.namedItem('password') as HTMLInputElement).value;
    if (!user || !password) return drawLogin('Enter your user name and password.');
    try {
      await start(await logIn(user, password));
      loginMessage = '';
      await show();
    } catch (err) {
      drawLogin(err instanceof ApiError ? err.message : String(err));
    }
  };
  document.title = 'Log in — trialcore';
  render(
    html`<main id="main" class="login" tabindex="-1">
      <h1>trialcore</h1>
      <p class="subtitle">Clinical trial data capture, review and audit</p>
      ${loginMessage ? html`<div class="ok-box" role="status">${loginMessage}</div>` : nothing}
      <form @submit=${submit} aria-label="Log in">
        <label for="login-user">User name</label>
        <input id="login-user" name="user" autocomplete="username" required autofocus />
        <label for="login-password">Password</label>
        <input id="login-password" name="password" type="password" autocomplete="current-password" required />
        ${errorBox(error)}
        <button type="submit" class="primary">Log in</button>
      </form>
    </main>`,
    root,
  );
  root.querySelector<HTMLInputElement>(error ? '#login-password' : '#login-user')?.focus();
}

// A request found the session ended: the user logs in again in a dialog,
// on top of the page, so whatever they typed stays where it was.
onSessionLost(async (reason) => {
  const user = me?.user ?? '';
  let error = '';
  const ok = await openDialog<boolean>('Log in again', (close, rerender) => {
    const submit = async (e: Event) => {
      e.preventDefault();
      const password = ((e.target as HTMLFormElement).elements.namedItem('password') as HTMLInputElement).value;
      try {
        const session = await logIn(user, password);
        me = session;
        setCsrfToken(session.csrf_token);
        close(true);
      } catch (err) {
        error = (err as Error).message;
        rerender();
      }
    };
    return html`<form @submit=${submit}>
      <p>${reason} Log in again to continue; what you typed on this page is kept and will be sent once you are back.</p>
      <label for="relogin-user">User name</label>
      <input id="relogin-user" value=${user} readonly />
      <label for="relogin-password">Password</label>
      <input id="relogin-password" name="password" type="password" autocomplete="current-password" required autofocus />
      ${errorBox(error)}
      <div class="actions">
        <button type="button" @click=${() => close(null)}>Leave</button>
        <button type="submit" class="primary">Log in</button>
      </div>
    </form>`;
  });
  if (!ok) {
    forget('Your session has expired. Log in again.');
    throw new ApiError(401, 'session_expired', 'Your session has expired.');
  }
});

// Links inside the application change the page without reloading it.
document.addEventListener('click', (e) => {
  const a = (e.target as HTMLElement).closest('a');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || a.target) return;
  const href = a.getAttribute('href');
  if (!href || !href.startsWith('/') || href.startsWith('/api/')) return;
  e.preventDefault();
  navigate(href);
});
// Back and forward change the page; a link within the page (#...) only scrolls.
let shownAt = location.pathname + location.search;
window.addEventListener('popstate', () => {
  if (location.pathname + location.search === shownAt) return;
  void show();
});
window.addEventListener('beforeunload', (e) => {
  if (view?.unsaved?.()) e.preventDefault();
});

(async () => {
  try {
    const r = await request<Me>('GET', '/api/v1/session', undefined, { relogin: false });
    await start(r.data);
  } catch (e) {
    if (e instanceof ApiError && e.code === 'session_expired') loginMessage = 'Your session has expired. Log in again.';
  }
  await show();
})();
