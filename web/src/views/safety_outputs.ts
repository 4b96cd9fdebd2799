// The safety team's outputs over the cases the user sees
// (doc/safety_cases.md, "Outputs"): the line listing as CSV, the DSUR's
// tabulation of serious adverse reactions by SOC and PT, and signal
// detection over the study's own cases. All blinded: no arm anywhere.
import { html, nothing } from 'lit-html';
import { downloadFile, get, studyPath } from '../api';
import { LiveReload, studyLink, type Context, type View } from '../app';
import type { SafetySignals, SafetyTabulation } from '../types';
import { errorBox } from '../ui';

// A ratio as the engine gives it: a number, "Inf", or null (not scored).
function ratio(x: number | string | null): string {
  if (x === null) return '—';
  if (typeof x === 'string') return x === 'Inf' ? '∞' : x;
  return x.toFixed(2);
}

export class SafetyOutputsView implements View {
  private tabulation: SafetyTabulation | null = null;
  private signals: SafetySignals | null = null;
  private error = '';
  private readonly reload = new LiveReload(() => void this.load());

  constructor(private readonly ctx: Context) {
    void this.load();
  }

  title(): string {
    return 'Safety listings and signals';
  }

  private path(rest: string): string {
    return studyPath(this.ctx.study.id) + rest;
  }

  private async load(): Promise<void> {
    try {
      [this.tabulation, this.signals] = await Promise.all([
        get<SafetyTabulation>(this.path('/safety/tabulation')),
        get<SafetySignals>(this.path('/safety/signals')),
      ]);
      this.error = '';
    } catch (e) {
      this.error = (e as Error).message;
    }
    this.ctx.update();
  }

  live(e: { type: string }): void {
    if (e.type.startsWith('safety.') || e.type === 'form.saved' || e.type === 'row.removed') this.reload.changed();
  }

  dispose(): void {
    this.reload.dispose();
  }

  private async download(rest: string, name: string): Promise<void> {
    try {
      await downloadFile(this.path(rest), `${name}-${this.ctx.study.id}.csv`);
    } catch (e) {
      this.error = (e as Error).message;
      this.ctx.update();
    }
  }

  private tabulationSection() {
    const t = this.tabulation;
    if (!t) return nothing;
    return html`<section class="panel" aria-labelledby="tabulation-title">
      <h2 id="tabulation-title">Serious adverse reactions by SOC and PT</h2>
      <p class="hint">The cumulative tabulation of a DSUR (ICH E2F): serious cases the investigator or the sponsor
        judged related, blinded. ${t.serious_adverse_reactions} in all.</p>
      <button type="button" @click=${() => void this.download('/safety/tabulation?format=csv', 'sar-tabulation')}>Download the tabulation (CSV)</button>
      ${t.rows.length
        ? html`<table class="data compact stack sar-tabulation">
            <thead><tr><th scope="col">System organ class</th><th scope="col">Preferred term</th><th scope="col">Serious adverse reactions</th>
              <th scope="col">Fatal</th><th scope="col">Unexpected</th></tr></thead>
            <tbody>${t.rows.map((r) => html`<tr>
              <td data-label="System organ class">${r.soc}</td><td data-label="Preferred term">${r.pt}</td>
              <td data-label="Serious adverse reactions">${r.serious_adverse_reactions}</td>
              <td data-label="Fatal">${r.fatal}</td><td data-label="Unexpected">${r.unexpected}</td></tr>`)}</tbody>
          </table>`
        : html`<p>No serious adverse reaction yet.</p>`}
    </section>`;
  }

  private signalsSection() {
    const s = this.signals;
    if (!s) return nothing;
    return html`<section class="panel" aria-labelledby="signals-title">
      <h2 id="signals-title">Signal detection</h2>
      <p data-testid="signals-summary">${s.cases} ${s.cases === 1 ? 'case' : 'cases'} counted over ${s.products.length}
        ${s.products.length === 1 ? 'product' : 'products'}${s.not_coded ? html`; ${s.not_coded} left out, not coded yet` : nothing}.
        ${s.why_not ? html`<span class="where">${s.why_not.charAt(0).toUpperCase() + s.why_not.slice(1)}.</span>` : nothing}</p>
      <p class="hint">Each valid case is a report of its products and MedDRA preferred terms. PRR and ROR with their
        lower 95% bounds, the information component's lower bound (IC025), and where the counts let the empirical
        Bayes prior be fitted, EBGM with its 90% interval. Arms are not compared: the study stays blind.</p>
      <button type="button" @click=${() => void this.download('/safety/signals?format=csv', 'safety-signals')}>Download the signals (CSV)</button>
      ${s.rows.length && !s.mined
        ? html`<table class="data compact stack safety-signals">
            <thead><tr><th scope="col">Product</th><th scope="col">Event (PT)</th><th scope="col">Cases</th></tr></thead>
            <tbody>${s.rows.map((r) => html`<tr>
              <td data-label="Product">${r.product}</td><td data-label="Event (PT)">${r.event}</td><td data-label="Cases">${r.n}</td>
            </tr>`)}</tbody>
          </table>`
        : nothing}
      ${s.rows.length && s.mined
        ? html`<table class="data compact stack safety-signals">
            <thead><tr><th scope="col">Product</th><th scope="col">Event (PT)</th><th scope="col">Cases</th><th scope="col">Expected</th>
              <th scope="col">PRR (lower 95%)</th><th scope="col">ROR (lower 95%)</th><th scope="col">IC025</th><th scope="col">EBGM (EB05–EB95)</th></tr></thead>
            <tbody>${s.rows.map((r) => html`<tr>
              <td data-label="Product">${r.product}</td><td data-label="Event (PT)">${r.event}</td>
              <td data-label="Cases">${r.n}</td><td data-label="Expected">${ratio(r.expected)}</td>
              <td data-label="PRR (lower 95%)">${ratio(r.prr)} (${ratio(r.prr_lower95)})</td>
              <td data-label="ROR (lower 95%)">${ratio(r.ror)} (${ratio(r.ror_lower95)})</td>
              <td data-label="IC025">${ratio(r.ic025)}</td>
              <td data-label="EBGM (EB05–EB95)">${r.ebgm === null ? '—' : html`${ratio(r.ebgm)} (${ratio(r.eb05)}–${ratio(r.eb95)})`}</td>
            </tr>`)}</tbody>
          </table>`
        : nothing}
    </section>`;
  }

  template() {
    const ctx = this.ctx;
    return html`<p class="crumbs"><a href=${studyLink(ctx, '/safety')}>Safety cases</a> › Listings and signals</p>
      <h1>Safety listings and signals</h1>
      ${errorBox(this.error)}
      <section class="panel" aria-labelledby="listing-title">
        <h2 id="listing-title">Line listing</h2>
        <p class="hint">Every case you see, open or closed, one line each: subject and site, the verbatim term and its
          MedDRA coding, onset, outcome, seriousness, the investigator's and the sponsor's causality, expectedness,
          stage and version, day 0, the reports owed and sent, and where the case came from.</p>
        <button type="button" @click=${() => void this.download('/safety/cases?format=csv', 'safety-line-listing')}>Download the line listing (CSV)</button>
      </section>
      ${!this.tabulation && !this.error ? html`<p>Loading…</p>` : nothing}
      ${this.tabulationSection()} ${this.signalsSection()}`;
  }
}
