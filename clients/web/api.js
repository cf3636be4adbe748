// api.js - the Twirp API over fetch with JSON (proto3 JSON: proto field
// names on output, 64-bit integers as strings, enums by name).  The token
// lives in sessionStorage only and travels as a Bearer header: never in a
// cookie, a URL or localStorage, and it is gone when the tab closes.

const TOKEN_KEY = 'csirt.token';

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(t) {
  if (t) sessionStorage.setItem(TOKEN_KEY, t);
  else sessionStorage.removeItem(TOKEN_KEY);
}

// A Twirp error: `code` is Twirp's ("permission_denied", ...), `msg` the
// server's English detail.  "network" when the daemon could not be reached.
export class ApiError extends Error {
  constructor(code, msg, status) {
    super(msg || code);
    this.code = code;
    this.msg = msg || '';
    this.status = status;
  }
}

// call('CaseService', 'GetCase', { id }) -> the response object.
export async function call(service, method, body) {
  const headers = { 'Content-Type': 'application/json' };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  let res;
  try {
    res = await fetch(`/twirp/csirt.v1.${service}/${method}`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body || {}),
      credentials: 'omit',
      cache: 'no-store',
      referrerPolicy: 'no-referrer',
    });
  } catch (e) {
    throw new ApiError('network', String(e && e.message), 0);
  }
  let data = null;
  try {
    data = await res.json();
  } catch (e) {
    data = null;
  }
  if (!res.ok) {
    // A 413 from the HTTP layer has no Twirp body.
    const code = data && typeof data.code === 'string' ? data.code
      : res.status === 413 ? 'too_large' : 'unknown';
    throw new ApiError(code, data && data.msg, res.status);
  }
  return data || {};
}
