// The HTTP API (doc/api.md): JSON in and out, the session cookie, the CSRF
// token on every change, the acting role, ETags. A request refused because
// the session ended waits for the user to log in again and is then sent
// again, so nothing typed is lost.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = {},
  ) {
    super(message);
  }
}

export interface Reply<T> {
  data: T;
  etag: string | null;
}

export interface RequestOptions {
  ifMatch?: string | null;
  // Whether an ended session should prompt a new login (the login request itself must not).
  relogin?: boolean;
  // A body sent as it is, of this type, instead of as JSON (an XML acknowledgement).
  contentType?: string;
}

let csrfToken = '';
let actingRole: string | null = null;
let reloginHandler: ((reason: string) => Promise<void>) | null = null;
// One log-in-again at a time: requests that find the session ended while it
// is open wait for the same one.
let relogin: Promise<void> | null = null;

export function setCsrfToken(token: string): void {
  csrfToken = token;
}

export function setActingRole(role: string | null): void {
  actingRole = role;
}

export function getActingRole(): string | null {
  return actingRole;
}

// Called when a request finds the session ended; resolves once the user has
// logged in again.
export function onSessionLost(handler: (reason: string) => Promise<void>): void {
  reloginHandler = handler;
}

export async function request<T>(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<Reply<T>> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const raw = options.contentType !== undefined && typeof body === 'string';
  if (body !== undefined) headers['Content-Type'] = raw ? options.contentType! : 'application/json';
  if (method !== 'GET') headers['X-CSRF-Token'] = csrfToken;
  if (actingRole) headers['X-Trialcore-Role'] = actingRole;
  if (options.ifMatch) headers['If-Match'] = options.ifMatch;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : raw ? (body as string) : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError(0, 'network', 'The server cannot be reached. Nothing was lost on this page; try again.');
  }
  const text = await response.text();
  let parsed: unknown = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
  }
  if (!response.ok) {
    const e = (parsed ?? {}) as { code?: string; message?: string; details?: unknown };
    const error = new ApiError(response.status, e.code ?? 'http_' + response.status, e.message ?? response.statusText, e.details);
    if (response.status === 401 && options.relogin !== false && reloginHandler) {
      // The first request after expiry hears "session_expired", any other
      // "log in first": for a user who was logged in, both mean it expired.
      relogin ??= reloginHandler('Your session has expired.').finally(() => (relogin = null));
      await relogin;
      return request<T>(method, path, body, { ...options, relogin: false });
    }
    throw error;
  }
  return { data: parsed as T, etag: response.headers.get('ETag') };
}

export const get = <T>(path: string) => request<T>('GET', path).then((r) => r.data);
export const post = <T>(path: string, body: unknown, options?: RequestOptions) =>
  request<T>('POST', path, body, options).then((r) => r.data);

// A document posted as it is (an E2B acknowledgement, application/xml); the JSON reply.
export const postText = <T>(path: string, text: string, contentType: string) =>
  request<T>('POST', path, text, { contentType }).then((r) => r.data);

// A file the server makes (a CSV export), fetched in the acting role and
// saved as `filename`; a refusal throws with the server's message.
export async function downloadFile(path: string, filename: string, accept = 'text/csv'): Promise<void> {
  const headers: Record<string, string> = { Accept: accept };
  const role = getActingRole();
  if (role) headers['X-Trialcore-Role'] = role;
  const response = await fetch(path, { headers, credentials: 'same-origin' });
  if (!response.ok) {
    let message = response.statusText;
    try {
      message = ((await response.json()) as { message?: string }).message ?? message;
    } catch {
      /* not JSON */
    }
    throw new Error('The download failed: ' + message);
  }
  const url = URL.createObjectURL(await response.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function studyPath(study: string): string {
  return '/api/v1/studies/' + encodeURIComponent(study);
}

export function subjectPath(study: string, subject: string): string {
  return studyPath(study) + '/subjects/' + encodeURIComponent(subject);
}

export function formPath(study: string, subject: string, visit: string, form: string): string {
  return subjectPath(study, subject) + '/visits/' + encodeURIComponent(visit) + '/forms/' + encodeURIComponent(form);
}
