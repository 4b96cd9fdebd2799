// What changed since a monitor verified it: replays a form's audit trail
// (oldest first) and returns, for each item whose verification a later
// change reset, the value it had when it was verified.
import type { AuditEntry, JsonValue } from './types';

// `prefix` is the form's path with a trailing slash: "subject/S/VISIT/FORM/".
export function changedSinceVerification(entries: AuditEntry[], prefix: string): Map<string, JsonValue> {
  const values = new Map<string, JsonValue>();
  const verifiedValue = new Map<string, JsonValue>();
  const reset = new Map<string, JsonValue>();
  for (const e of entries) {
    if (!e.path.startsWith(prefix)) continue;
    const rest = e.path.slice(prefix.length);
    if (rest.endsWith('/verified')) {
      const item = rest.slice(0, -'/verified'.length);
      if (e.new === true) {
        verifiedValue.set(item, values.get(item) ?? null);
        reset.delete(item);
      } else if (e.new === false) {
        reset.set(item, verifiedValue.get(item) ?? null);
      }
    } else if (!rest.includes('/')) {
      values.set(rest, e.new);
    }
  }
  return reset;
}
