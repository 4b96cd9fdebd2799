import { describe, expect, it } from 'vitest';
import { label, parseDateInput, parseDateTimeInput, rangeText, showDate, showItemValue, showTime, showValue } from './format';
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

  it('writes times as dd-MMM-yyyy in UTC to the second, whatever the locale', () => {
    expect(showTime('2026-11-23T10:04:05.123456Z')).toBe('23-NOV-2026 10:04:05 UTC');
    expect(showTime('2026-03-05T09:30:00Z')).toBe('05-MAR-2026 09:30:00 UTC');
    expect(showTime('2026-03-05T09:30Z')).toBe('05-MAR-2026 09:30:00 UTC');
    expect(showTime('not a time')).toBe('not a time');
  });

  it('writes dates as dd-MMM-yyyy and partial dates with UN / UNK', () => {
    expect(showDate('2026-03-05')).toBe('05-MAR-2026');
    expect(showDate('2026-12-31')).toBe('31-DEC-2026');
    expect(showDate('2026-03')).toBe('UN-MAR-2026');
    expect(showDate('2026')).toBe('UN-UNK-2026');
    expect(showDate('2026-13-01')).toBe('2026-13-01');
    expect(showDate('05/03/2026')).toBe('05/03/2026');
    expect(showDate('')).toBe('');
  });

  it('writes item values by their type', () => {
    expect(showItemValue('date', '2026-03-05')).toBe('05-MAR-2026');
    expect(showItemValue('partial_date', '2019')).toBe('UN-UNK-2019');
    expect(showItemValue('date', '1941')).toBe('1941'); // the year alone, for a role that sees no more
    expect(showItemValue('datetime', '2026-11-23T09:30:00Z')).toBe('23-NOV-2026 09:30:00 UTC');
    expect(showItemValue('text', '2026-03-05')).toBe('2026-03-05');
    expect(showItemValue('date', null)).toBe('');
  });

  it('reads typed dates in the shown format or ISO, and nothing ambiguous', () => {
    expect(parseDateInput('05-MAR-2026')).toBe('2026-03-05');
    expect(parseDateInput('5-mar-2026')).toBe('2026-03-05');
    expect(parseDateInput(' 2026-03-05 ')).toBe('2026-03-05');
    expect(parseDateInput('31-FEB-2026')).toBeNull();
    expect(parseDateInput('29-FEB-2028')).toBe('2028-02-29');
    expect(parseDateInput('03/05/2026')).toBeNull();
    expect(parseDateInput('05-MAR-26')).toBeNull();
    expect(parseDateInput('UN-MAR-2026')).toBeNull();
    expect(parseDateInput('2026')).toBeNull();
  });

  it('reads typed partial dates with UN / UNK', () => {
    expect(parseDateInput('UN-MAR-2026', true)).toBe('2026-03');
    expect(parseDateInput('unk-mar-2026', true)).toBe('2026-03');
    expect(parseDateInput('MAR-2026', true)).toBe('2026-03');
    expect(parseDateInput('UN-UNK-2026', true)).toBe('2026');
    expect(parseDateInput('2026-03', true)).toBe('2026-03');
    expect(parseDateInput('2026', true)).toBe('2026');
    expect(parseDateInput('05-MAR-2026', true)).toBe('2026-03-05');
    expect(parseDateInput('UN-XYZ-2026', true)).toBeNull();
    expect(parseDateInput('2026-00', true)).toBeNull();
    for (const iso of ['2026-03-05', '2026-03', '2026']) expect(parseDateInput(showDate(iso), true)).toBe(iso);
  });

  it('reads typed moments as UTC', () => {
    expect(parseDateTimeInput('05-MAR-2026 09:30')).toBe('2026-03-05T09:30:00Z');
    expect(parseDateTimeInput('05-mar-2026 09:30:15 UTC')).toBe('2026-03-05T09:30:15Z');
    expect(parseDateTimeInput('2026-03-05T09:30:15Z')).toBe('2026-03-05T09:30:15Z');
    expect(parseDateTimeInput('05-MAR-2026 25:00')).toBeNull();
    expect(parseDateTimeInput('05-MAR-2026')).toBeNull();
    expect(parseDateTimeInput(showTime('2026-11-23T10:04:05.123456Z'))).toBe('2026-11-23T10:04:05Z');
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
