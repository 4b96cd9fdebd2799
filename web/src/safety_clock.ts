// How a safety case's clock reads on screen (the server counts the days).
// "in 3 days", "due today", "2 days late".
export function daysLeftText(days: number): string {
  if (days === 0) return 'due today';
  if (days < 0) return `${-days} ${days === -1 ? 'day' : 'days'} late`;
  return `in ${days} ${days === 1 ? 'day' : 'days'}`;
}

export function urgency(days: number | undefined): string {
  if (days === undefined) return '';
  return days < 0 ? 'overdue' : days <= 3 ? 'due-soon' : '';
}
