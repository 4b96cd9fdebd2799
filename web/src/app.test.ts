import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LatestAnswer, LiveReload } from './app';

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

describe('LatestAnswer', () => {
  it('keeps only the answer to the last request, whatever order the answers arrive in', async () => {
    const latest = new LatestAnswer();
    const shown: string[] = [];
    const request = (value: string, delayMs: number) => {
      const current = latest.begin();
      return new Promise<void>((resolve) =>
        setTimeout(() => {
          if (current()) shown.push(value);
          resolve();
        }, delayMs),
      );
    };
    // The first filter's answer arrives after the second's.
    await Promise.all([request('all subjects', 30), request('one subject', 5)]);
    expect(shown).toEqual(['one subject']);
    await request('again', 1);
    expect(shown).toEqual(['one subject', 'again']);
  });
});
