// How values, times, states and ranges are written on the pages.
import type { ItemDef, JsonValue } from './types';

export function showValue(v: JsonValue | undefined): string {
  if (v === null || v === undefined || v === '') return '';
  if (Array.isArray(v)) return v.map((x) => showValue(x)).join(', ');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

// "2026-11-23T10:04:05.123456Z" → "2026-11-23 10:04:05 UTC"
export function showTime(t: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(t);
  return m ? `${m[1]} ${m[2]} UTC` : t;
}

export function label(text: string): string {
  return text.replace(/_/g, ' ');
}

// An item's range as a hint: the soft range when it has one, else the hard one.
export function rangeText(item: ItemDef): string {
  const r = item.soft_range ?? item.hard_range;
  if (!r) return '';
  const unit = item.unit ? ' ' + item.unit : '';
  if (r.min !== undefined && r.max !== undefined) return `expected ${r.min}–${r.max}${unit}`;
  if (r.min !== undefined) return `at least ${r.min}${unit}`;
  return `at most ${r.max}${unit}`;
}
