// A list page (subjects, queries): rows fetched with the page's filters,
// fetched again when a change that concerns them arrives.
import { get } from '../api';
import { LatestAnswer, LiveReload, type Context, type View } from '../app';

export abstract class ListPage<Row> implements View {
  protected rows: Row[] = [];
  protected total = 0;
  protected error = '';
  protected loaded = false;
  private readonly reload = new LiveReload(() => void this.load());
  private readonly latest = new LatestAnswer();

  constructor(protected readonly ctx: Context) {}

  abstract title(): string;
  abstract template(): ReturnType<View['template']>;
  // The API path with the current filters, and the reply's field holding the rows.
  protected abstract source(): { path: string; field: string };
  // Whether an event of this type may change the list.
  protected abstract concerns(type: string): boolean;
  // The rest of the reply, for pages that show more than its rows.
  protected received(_reply: Record<string, unknown>): void {}

  protected async load(): Promise<void> {
    const { path, field } = this.source();
    const current = this.latest.begin();
    try {
      const reply = await get<Record<string, unknown> & { total: number }>(path);
      if (!current()) return;
      this.rows = reply[field] as Row[];
      this.total = reply.total;
      this.received(reply);
      this.error = '';
    } catch (e) {
      if (!current()) return;
      this.error = (e as Error).message;
    }
    this.loaded = true;
    this.ctx.update();
  }

  live(e: { type: string }): void {
    if (!this.concerns(e.type)) return;
    this.reload.changed();
  }

  dispose(): void {
    this.reload.dispose();
  }
}
