// The one way the SequoAlpha pages talk to the API.
//
// The session lives in httpOnly cookies set by POST /api/login: this module never sees or
// stores a token. It only reads the two readable CSRF cookies (double-submit protection)
// and sends the right one in X-CSRF-TOKEN on every write. On a 401 it refreshes the access
// token once, silently, and retries; when that fails the person is sent back to sign-in
// with an "expired session" message instead of being left on a broken page.

export const SIGNIN_URL = '/frontend/signin.html';

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
// Endpoints where a 401 means "wrong credentials", not "token expired".
const NO_REFRESH = new Set(['/api/login', '/api/token/refresh']);

const DEFAULT_MESSAGES = {
  0: 'The server could not be reached. Check your connection and try again.',
  400: 'The request could not be understood.',
  401: 'You are not signed in.',
  403: 'You are not allowed to do this.',
  404: 'This item does not exist or is not available to you.',
  409: 'This conflicts with something that already exists.',
  413: 'The file is too large.',
  415: 'Only PDF files can be uploaded.',
  422: 'Some fields need attention.',
  429: 'Too many attempts. Please wait and try again.',
  500: 'Something went wrong on our side. Please try again.',
  502: 'The service is temporarily unavailable. Please try again shortly.',
  503: 'The service is temporarily unavailable. Please try again shortly.',
  504: 'The service took too long to answer. Please try again.',
};

export function defaultMessage(status) {
  return DEFAULT_MESSAGES[status] || `The server answered with an error (${status}).`;
}

/** An error answered by the API: {code, status, message, errors?}. */
export class ApiError extends Error {
  constructor(status, body, headers = null) {
    const message = body && typeof body.message === 'string' && body.message ? body.message : defaultMessage(status);
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.body = body || null;
    this.errors = (body && body.errors) || null;
    this.headers = headers;
  }

  /** Seconds to wait, from the Retry-After header (seconds or an HTTP date), or null. */
  get retryAfterSeconds() {
    const value = this.headers && this.headers.get ? this.headers.get('Retry-After') : null;
    if (!value) return null;
    if (/^\d+$/.test(value.trim())) return Number(value.trim());
    const when = Date.parse(value);
    return Number.isNaN(when) ? null : Math.max(0, Math.ceil((when - Date.now()) / 1000));
  }
}

/** Thrown after the page has been sent to sign-in; callers just stop. */
export class SessionEndedError extends Error {
  constructor() {
    super('The session has ended.');
    this.name = 'SessionEndedError';
  }
}

export function readCookie(name) {
  for (const part of document.cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return part.slice(eq + 1).trim();
      }
    }
  }
  return null;
}

export function csrfHeaders(cookieName = 'csrf_access_token') {
  const token = readCookie(cookieName);
  return token ? { 'X-CSRF-TOKEN': token } : {};
}

let refreshing = null;

/** POST /api/token/refresh once for all callers waiting at the same time; resolves to true on success. */
export function refreshSession() {
  if (!refreshing) {
    refreshing = fetch('/api/token/refresh', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { Accept: 'application/json', ...csrfHeaders('csrf_refresh_token') },
    })
      .then((res) => res.ok)
      .catch(() => false)
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

let leaving = false;

function hadSession() {
  return readCookie('csrf_refresh_token') !== null || readCookie('csrf_access_token') !== null;
}

/**
 * Send the person to sign-in. When a session existed (its CSRF cookies are still here) the
 * sign-in page says it expired; someone who never signed in is just asked to sign in.
 */
export function endSession({ expired = hadSession() } = {}) {
  if (!leaving) {
    leaving = true;
    const here = location.pathname + location.search + location.hash;
    const params = new URLSearchParams();
    if (expired) params.set('expired', '1');
    if (here.startsWith('/frontend/') && !here.startsWith(SIGNIN_URL)) params.set('next', here);
    location.assign(`${SIGNIN_URL}?${params}`);
  }
  return new SessionEndedError();
}

/**
 * Run attempt() (a fetch or an XHR, resolving to something with a status); on a 401 refresh
 * the session once and run it again. A failed refresh, or a 401 after it, ends the session:
 * ended() makes the error thrown.
 */
async function withRefresh(attempt, ended = endSession) {
  const first = await attempt();
  if (first.status !== 401) return first;
  if (!(await refreshSession())) throw ended();
  const second = await attempt();
  if (second.status === 401) throw ended();
  return second;
}

function buildUrl(path, query) {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    params.set(key, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

async function readBody(res) {
  if (res.status === 204 || res.status === 205) return null;
  const type = res.headers.get('Content-Type') || '';
  if (!type.includes('json')) return null;
  try {
    return await res.json();
  } catch {
    return null;
  }
}

/**
 * Call the API. Options: method, query (object), json (body sent as JSON), body (FormData…),
 * refresh (default true: on a 401 refresh the session once and retry; if that fails go to
 * sign-in and throw SessionEndedError), redirect (default true: false throws
 * SessionEndedError without leaving the page).
 * Resolves to the parsed JSON (null for 204); rejects with ApiError.
 */
export async function api(path, options = {}) {
  const { method = 'GET', query, json, body, refresh = true, redirect = true } = options;
  const ended = () => (redirect ? endSession() : new SessionEndedError());
  const upper = method.toUpperCase();
  const headers = { Accept: 'application/json' };
  let payload = body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(json);
  }
  const send = () => {
    const h = { ...headers };
    if (WRITE_METHODS.has(upper)) Object.assign(h, csrfHeaders());
    return fetch(buildUrl(path, query), { method: upper, headers: h, body: payload, credentials: 'same-origin' });
  };

  let res;
  try {
    res = refresh && !NO_REFRESH.has(path) ? await withRefresh(send, ended) : await send();
  } catch (err) {
    if (err instanceof SessionEndedError) throw err;
    throw new ApiError(0, null);
  }
  const data = await readBody(res);
  if (res.status === 403 && data && data.reason === 'mfa_enrolment_required' && redirect) {
    // An admin without a second factor: enrolment first (the Security page says why).
    location.assign('/frontend/security.html?enrol=required');
    throw new SessionEndedError();
  }
  if (!res.ok) throw new ApiError(res.status, data, res.headers);
  return data;
}

/** Make sure the session is valid (refreshing it if needed) before a plain navigation to an API URL. */
export async function ensureSession() {
  return api('/api/me');
}

/**
 * Upload with XMLHttpRequest so the browser reports upload progress.
 * onProgress(loaded, total) is called as bytes leave. A 401 is refreshed and retried like api()'s.
 */
export function uploadForm(path, formData, { onProgress } = {}) {
  const attempt = () =>
    new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', path);
      xhr.setRequestHeader('Accept', 'application/json');
      for (const [name, value] of Object.entries(csrfHeaders())) xhr.setRequestHeader(name, value);
      xhr.responseType = 'text';
      if (onProgress) {
        xhr.upload.addEventListener('progress', (e) => {
          if (e.lengthComputable) onProgress(e.loaded, e.total);
        });
      }
      xhr.addEventListener('load', () => {
        let data = null;
        const type = xhr.getResponseHeader('Content-Type') || '';
        if (type.includes('json') && xhr.responseText) {
          try {
            data = JSON.parse(xhr.responseText);
          } catch {
            data = null;
          }
        }
        const headers = { get: (name) => xhr.getResponseHeader(name) };
        resolve({ status: xhr.status, data, headers });
      });
      xhr.addEventListener('error', () => reject(new ApiError(0, {
        message: 'The upload was interrupted before the server answered: the connection dropped, or the file is over the size limit.',
      })));
      xhr.addEventListener('abort', () => reject(new ApiError(0, { message: 'The upload was cancelled.' })));
      xhr.send(formData);
    });

  return (async () => {
    const result = await withRefresh(attempt);
    if (result.status < 200 || result.status >= 300) throw new ApiError(result.status, result.data, result.headers);
    return result.data;
  })();
}
