import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LiveReload } from './app';

describe('LiveReload', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('fetches once after a burst of changes, when they stop for the delay', () => {
    const reload = vi.fn();
    const live = new LiveReload(reload);
    live.changed();
    vi.advanceTimersByTime(300);
    live.changed();
    vi.advanceTimersByTime(300);
    live.changed();
    expect(reload).not.toHaveBeenCalled();
    vi.advanceTimersByTime(400);
    expect(reload).toHaveBeenCalledTimes(1);
    live.changed();
    vi.advanceTimersByTime(400);
    expect(reload).toHaveBeenCalledTimes(2);
  });

  it('fetches nothing once the page is left', () => {
    const reload = vi.fn();
    const live = new LiveReload(reload, 100);
    live.changed();
    live.dispose();
    vi.advanceTimersByTime(1000);
    expect(reload).not.toHaveBeenCalled();
  });
});
