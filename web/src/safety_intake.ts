// The command a safety report entered on the intake form becomes
// (doc/safety_cases.md, "Direct cases"): what was left empty is left out, so
// the server names what is missing rather than refusing empty text. With a
// case, the form holds that case's new information (`safety.update`): the
// whole report as it now stands, and why it changed.
export function intakeCommand(form: FormData, caseId = ''): Record<string, unknown> {
  const text = (name: string) => String(form.get(name) ?? '').trim();
  const some = (o: Record<string, string>) => {
    const kept = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== ''));
    return Object.keys(kept).length ? kept : undefined;
  };
  const cmd: Record<string, unknown> = {
    op: caseId ? 'safety.update' : 'safety.receive',
    case: caseId || undefined,
    source: text('source'),
    received: text('received'),
    reporter: some({
      qualification: text('qualification'),
      given: text('given'),
      family: text('family'),
      country: text('country').toUpperCase(),
      email: text('email'),
    }),
    patient: some({ sex: text('sex'), age: text('age') }),
    event: {
      term: text('term'),
      ...(text('onset') ? { onset: text('onset') } : {}),
      ...(text('outcome') ? { outcome: text('outcome') } : {}),
      criteria: form.getAll('criteria').map(String),
    },
  };
  for (const name of ['product', 'causality', 'reference', 'narrative', 'reason']) {
    if (text(name)) cmd[name] = text(name);
  }
  return Object.fromEntries(Object.entries(cmd).filter(([, v]) => v !== undefined));
}

