import { describe, expect, it } from 'vitest';
import { label, rangeText, showTime, showValue } from './format';
import type { ItemDef } from './types';

const item = (over: Partial<ItemDef>): ItemDef => ({
  id: 'X', label: 'X', type: 'integer', unit: '', codelist: '', visible_if: '', derive: '', hard_range: null, soft_range: null, required: false, ...over,
});

describe('format', () => {
  it('writes values as a user reads them', () => {
    expect(showValue(null)).toBe('');
    expect(showValue('')).toBe('');
    expect(showValue(0)).toBe('0');
    expect(showValue(false)).toBe('false');
    expect(showValue(['ORAL', 'TOPICAL'])).toBe('ORAL, TOPICAL');
  });

  it('writes times in UTC to the second', () => {
    expect(showTime('2026-11-23T10:04:05.123456Z')).toBe('2026-11-23 10:04:05 UTC');
    expect(showTime('not a time')).toBe('not a time');
  });

  it('prefers the soft range as the hint, with the unit', () => {
    expect(rangeText(item({ hard_range: { min: 40, max: 300 }, soft_range: { min: 90, max: 160 }, unit: 'mmHg' }))).toBe('expected 90–160 mmHg');
    expect(rangeText(item({ hard_range: { min: 0 } }))).toBe('at least 0');
    expect(rangeText(item({ hard_range: { max: 12 } }))).toBe('at most 12');
    expect(rangeText(item({}))).toBe('');
  });

  it('turns ids into words', () => {
    expect(label('screen_failed')).toBe('screen failed');
  });
});
