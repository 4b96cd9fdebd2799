// The study at a glance: enrolment against target by site, open and answered
// queries by age, overdue and out-of-window visits, unsigned casebooks; live.
// Data managers reach the database lock's checklist from here.
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';
import { html, nothing } from 'lit-html';
import { ref } from 'lit-html/directives/ref.js';
import { get, studyPath } from '../api';
import { formLink, formName, LiveReload, studyLink, subjectLink, visitName, type Context, type View } from '../app';
import { QUERY_STATE_MEANING, type QueryState } from '../query_states';
import { can } from '../roles';
import type { AwaitingSignature, Dashboard, WorkItem } from '../types';
import { label } from '../format';
import { errorBox, okBox } from '../ui';
import { daysLeftText } from '../safety_clock';
import { stageText } from '../safety_case';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

const STATUS_ORDER = ['screening', 'enrolled', 'completed', 'withdrawn', 'screen_failed'];
const STATUS_COLOURS: Record<string, string> = {
  screening: '#8aa4c8',
  enrolled: '#2f6db5',
  completed: '#2e8540',
  withdrawn: '#b36b00',
  screen_failed: '#9b9b9b',
};

export class HomeView implements View {
  private data: Dashboard | null = null;
  private awaiting: AwaitingSignature | null = null; // for investigators
  private error = '';
  private chart: Chart | null = null;
  private readonly reload = new LiveReload(() => void this.load());
  private updated = '';
  private message = '';

  constructor(private readonly ctx: Context) {
    void this.load();
  }

  title(): string {
    return 'Study home';
  }

  private async load(): Promise<void> {
    try {
      const base = studyPath(this.ctx.study.id);
      const [data, awaiting] = await Promise.all([
        get<Dashboard>(base + '/dashboard'),
        can.sign(this.ctx.role) ? get<AwaitingSignature>(base + '/awaiting-signature') : Promise.resolve(null),
      ]);
      this.data = data;
      this.awaiting = awaiting;
      this.error = '';
      this.updated = new Date().toISOString().slice(11, 19) + ' UTC';
    } catch (e) {
      this.error = (e as Error).message;
    }
    this.ctx.update();
  }

  live(): void {
    this.reload.changed();
  }

  dispose(): void {
    this.reload.dispose();
    this.chart?.destroy();
  }

  private sites(): string[] {
    const sites = new Set(this.ctx.definition.sites.map((s) => s.id));
    for (const s of Object.keys(this.data?.subjects_by_site ?? {})) sites.add(s);
    return [...sites].sort();
  }

  private statuses(): string[] {
    const seen = new Set<string>();
    for (const counts of Object.values(this.data?.subjects_by_site ?? {})) Object.keys(counts).forEach((k) => seen.add(k));
    return [...STATUS_ORDER.filter((s) => seen.has(s)), ...[...seen].filter((s) => !STATUS_ORDER.includes(s))];
  }

  private drawChart(canvas: Element | undefined): void {
    if (!canvas || !this.data) return;
    const sites = this.sites();
    const datasets = this.statuses().map((status) => ({
      label: label(status),
      data: sites.map((s) => this.data!.subjects_by_site[s]?.[status] ?? 0),
      backgroundColor: STATUS_COLOURS[status] ?? '#666',
    }));
    const labels = sites.map((s) => this.ctx.definition.sites.find((x) => x.id === s)?.name ?? s);
    if (this.chart && this.chart.canvas === canvas) {
      this.chart.data.labels = labels;
      this.chart.data.datasets = datasets;
      this.chart.update('none');
      return;
    }
    this.chart?.destroy();
    this.chart = new Chart(canvas as HTMLCanvasElement, {
      type: 'bar',
      data: { labels, datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { position: 'bottom' } },
      },
    });
  }

  // A list of what needs doing, each entry a link to its casebook.
  private workList(id: string, title: string, items: WorkItem[], total: number) {
    if (!items.length) return nothing;
    return html`<section class="panel" aria-labelledby=${id}>
      <h2 id=${id}>${title}</h2>
      <table class="data compact">
        <caption>${items.length < total ? `the first ${items.length} of ${total}` : `${total}`}</caption>
        <thead><tr><th scope="col">Subject</th><th scope="col">${items[0].visit ? 'Visit' : 'Status'}</th>${items[0].visit ? html`<th scope="col">Window</th>` : nothing}</tr></thead>
        <tbody>
          ${items.map(
            (w) => html`<tr>
              <td><a href=${subjectLink(this.ctx, w.subject)}>${w.subject}</a></td>
              ${w.visit ? html`<td>${visitName(this.ctx, w.visit)}</td>` : nothing}
              <td>${label(w.status)}</td>
            </tr>`,
          )}
        </tbody>
      </table>
    </section>`;
  }

  // For investigators: casebooks to sign and signatures to give again.
  private awaitingSignature() {
    const a = this.awaiting;
    if (!a) return nothing;
    const ctx = this.ctx;
    return html`<section class="panel" aria-labelledby="awaiting-title">
      <h2 id="awaiting-title">Awaiting your signature</h2>
      ${a.total === 0
        ? html`<p>Nothing awaits your signature.</p>`
        : html`<table class="data compact">
            <caption>${a.listed.length < a.total ? `the first ${a.listed.length} of ${a.total}` : `${a.total}`}</caption>
            <thead><tr><th scope="col">Subject</th><th scope="col">What</th></tr></thead>
            <tbody>
              ${a.listed.map(
                (w) => html`<tr data-awaiting=${w.subject}>
                  <td><a href=${subjectLink(ctx, w.subject)}>${w.subject}</a></td>
                  <td>${w.why === 'casebook'
                    ? 'Casebook to sign: the subject has left the study'
                    : html`Signature broken by a later change: sign
                        ${w.form
                          ? html`<a href=${formLink(ctx, w.subject, w.visit, w.form)}>${formName(ctx, w.form)} at ${visitName(ctx, w.visit)}</a>`
                          : w.visit
                            ? visitName(ctx, w.visit)
                            : html`<a href=${subjectLink(ctx, w.subject)}>the casebook</a>`} again`}</td>
                </tr>`,
              )}
            </tbody>
          </table>`}
    </section>`;
  }

  // The queries in one state, by age; it opens the inbox on that state, whose
  // rows are the ones counted here (the server counts both alike).
  private queryTile(state: QueryState, ages: Record<string, number>, total: number) {
    return html`<a class="tile" data-queries=${state} href=${studyLink(this.ctx, '/queries?state=' + state)}>
      <span class="figure">${total}</span> ${state} queries
      <span class="detail">${QUERY_STATE_MEANING[state]}</span>
      <span class="detail">${Object.entries(ages).map(([age, n]) => html`<span>${age}: ${n}</span> `)}</span>
    </a>`;
  }

  // The safety clocks, for those who follow cases (the Safety page's readers).
  private safetyTile() {
    const s = this.data?.safety;
    const ctx = this.ctx;
    if (!s || !can.seeSafety(ctx.role)) return nothing;
    const u = s.most_urgent;
    return html`<div class="tile ${s.overdue || s.due_within_3_days ? 'warn' : ''}" data-testid="safety-tile">
      <a href=${studyLink(ctx, '/safety')}><span class="figure">${s.open}</span> open safety cases</a>
      <span class="detail">${s.due_within_3_days} due within 3 days · ${s.overdue} overdue · ${s.late} ${s.late === 1 ? 'report' : 'reports'} sent late</span>
      ${u
        ? html`<span class="detail">Most urgent: <a href=${studyLink(ctx, '/safety/cases/' + encodeURIComponent(u.case))}>${u.case}</a>
            ${u.term}, ${stageText(u.stage)}, ${daysLeftText(u.days_left)}</span>`
        : nothing}
    </div>`;
  }

  template() {
    const d = this.data;
    const ctx = this.ctx;
    if (!d) return html`<h1>${ctx.definition.title}</h1>${errorBox(this.error)}<p>Loading…</p>`;
    let enrolled = 0;
    let total = 0;
    for (const counts of Object.values(d.subjects_by_site)) {
      for (const [status, n] of Object.entries(counts)) {
        total += n;
        if (status === 'enrolled' || status === 'completed' || status === 'withdrawn') enrolled += n;
      }
    }
    const percent = d.planned_subjects ? Math.min(100, Math.round((100 * enrolled) / d.planned_subjects)) : 0;
    const sum = (ages: Record<string, number>) => Object.values(ages).reduce((a, b) => a + b, 0);
    const sites = this.sites();
    const statuses = this.statuses();
    return html`<h1>${ctx.definition.title}</h1>
      <p class="muted">${ctx.study.id}, protocol version ${ctx.definition.version} · live, updated ${this.updated}</p>
      ${d.database_locked ? html`<p><span class="badge locked">Database locked</span></p>` : nothing}
      ${can.control(ctx.role)
        ? html`<div class="toolbar">
            <a class="button" href=${studyLink(ctx, '/lock')}>${d.database_locked ? 'Unlock the database…' : 'Database lock checklist'}</a>
          </div>`
        : nothing}
      ${okBox(this.message)} ${errorBox(this.error)}
      ${this.awaitingSignature()}
      <section aria-labelledby="enrolment-title" class="panel">
        <h2 id="enrolment-title">Enrolment</h2>
        <p>
          <strong>${enrolled}</strong> enrolled of <strong>${d.planned_subjects}</strong> planned (${percent}%), ${total}
          screened in all.
        </p>
        <progress class="progress" aria-label="Enrolment against target" max=${Math.max(1, d.planned_subjects)}
          .value=${Math.min(enrolled, d.planned_subjects)}>${percent}%</progress>
        <div class="chart" role="img" aria-label="Subjects by site and status (the table below gives the figures)">
          <canvas ${ref((el) => this.drawChart(el))}></canvas>
        </div>
        <table class="data compact">
          <caption>Subjects by site and status</caption>
          <thead><tr><th scope="col">Site</th>${statuses.map((s) => html`<th scope="col">${label(s)}</th>`)}</tr></thead>
          <tbody>
            ${sites.map(
              (site) => html`<tr>
                <th scope="row"><a href=${studyLink(ctx, '/subjects?site=' + encodeURIComponent(site))}>${site}</a></th>
                ${statuses.map((s) => html`<td>${d.subjects_by_site[site]?.[s] ?? 0}</td>`)}
              </tr>`,
            )}
          </tbody>
        </table>
      </section>
      <section class="tiles" aria-label="Work to do">
        ${this.safetyTile()}
        ${this.queryTile('open', d.open_queries_by_age, sum(d.open_queries_by_age))}
        ${this.queryTile('answered', d.answered_queries_by_age, sum(d.answered_queries_by_age))}
        <a class="tile ${d.overdue_visits ? 'warn' : ''}" href="#overdue-title">
          <span class="figure">${d.overdue_visits}</span> overdue visits
        </a>
        <a class="tile ${d.visits_out_of_window ? 'warn' : ''}" href="#window-title">
          <span class="figure">${d.visits_out_of_window}</span> visits out of window
        </a>
        <a class="tile" href="#unsigned-title">
          <span class="figure">${d.unsigned_casebooks}</span> unsigned casebooks
        </a>
      </section>
      ${this.workList('overdue-title', 'Overdue visits', d.overdue, d.overdue_visits)}
      ${this.workList('window-title', 'Visits out of window', d.out_of_window, d.visits_out_of_window)}
      ${this.workList('unsigned-title', 'Unsigned casebooks (completed or withdrawn)', d.unsigned, d.unsigned_casebooks)}
      ${ctx.definition.arms
        ? html`<section class="panel unblinded" aria-labelledby="arms-title">
            <h2 id="arms-title">Treatment arms (unblinded)</h2>
            <ul>${ctx.definition.arms.map((a) => html`<li>${a.code}: ${a.name}</li>`)}</ul>
          </section>`
        : nothing}`;
  }
}
