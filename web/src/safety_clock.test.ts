import { describe, expect, it } from 'vitest';
import { daysLeftText, urgency } from './safety_clock';

describe('daysLeftText', () => {
  it('says the days left, the due day, and the days late', () => {
    expect(daysLeftText(15)).toBe('in 15 days');
    expect(daysLeftText(1)).toBe('in 1 day');
    expect(daysLeftText(0)).toBe('due today');
    expect(daysLeftText(-1)).toBe('1 day late');
    expect(daysLeftText(-4)).toBe('4 days late');
  });
});

describe('urgency', () => {
  it('marks a clock that has run out, and one with three days or fewer left', () => {
    expect(urgency(-1)).toBe('overdue');
    expect(urgency(0)).toBe('due-soon');
    expect(urgency(3)).toBe('due-soon');
    expect(urgency(4)).toBe('');
    expect(urgency(undefined)).toBe('');
  });
});
