// Calls to /api/commission/* (docs/commissioning.md): JSON both ways, the session's CSRF token
// on every POST, errors as CommissionError with the route's stable code.

let csrf = null;

export function setCsrf(token) {
  csrf = token;
}

export class CommissionError extends Error {
  constructor(status, code, message, body) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

async function call(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['x-csrf-token'] = csrf;
  let res;
  try {
    res = await fetch(`/api/commission/${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'same-origin',
    });
  } catch (err) {
    throw new CommissionError(0, 'NETWORK', err.message);
  }
  const type = res.headers.get('content-type') ?? '';
  const data = type.includes('json') ? await res.json().catch(() => undefined) : await res.text();
  if (res.ok) return data;
  // The page's own login (web.token) lapsed: the login form, as the status page does.
  if (res.status === 401 && data?.error?.code !== 'SFG_COMMISSION_SESSION') location.assign('/login');
  throw new CommissionError(res.status, data?.error?.code ?? `HTTP_${res.status}`, data?.error?.message ?? `HTTP ${res.status}`, data);
}

export const get = (path) => call('GET', path);
export const post = (path, body = {}) => call('POST', path, body);
