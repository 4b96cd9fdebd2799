// Item codes, group ids, check ids and derivation formulas are for those who
// build and clean the study; site staff read labels and sentences. Roles that
// may show codes turn them on with a "Show codes" switch, remembered per
// user in this browser.
import type { Context } from './app';

const CODE_ROLES = ['data_manager', 'study_admin'];

export function mayShowCodes(role: string): boolean {
  return CODE_ROLES.includes(role);
}

function key(user: string): string {
  return 'trialcore.show-codes.' + user;
}

export function showCodes(ctx: Pick<Context, 'me' | 'role'>): boolean {
  if (!mayShowCodes(ctx.role)) return false;
  try {
    return localStorage.getItem(key(ctx.me.user)) === '1';
  } catch {
    return false; // storage refused (private mode): codes stay hidden
  }
}

export function setShowCodes(ctx: Pick<Context, 'me'>, on: boolean): void {
  try {
    if (on) localStorage.setItem(key(ctx.me.user), '1');
    else localStorage.removeItem(key(ctx.me.user));
  } catch {
    // storage refused: the switch holds for this page only
  }
}
