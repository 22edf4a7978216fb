// The daemon's API as the page uses it: every method is POST /rest/METHOD
// with the session's CSRF token (the server refuses a change without it),
// and live updates come from one long poll of the event log at a time.

let csrf = '';

export class ApiError extends Error {
  constructor(status, kind, message) {
    super(message);
    this.status = status;
    this.kind = kind;
  }
}

// Called when the session is gone (401): the page shows how to log in again.
let onLoggedOut = () => {};
export function whenLoggedOut(fn) {
  onLoggedOut = fn;
}

export async function startSession() {
  const res = await fetch('/session', { credentials: 'same-origin' });
  if (res.status === 401) {
    onLoggedOut();
    throw new ApiError(401, 'unauthorized', 'not logged in');
  }
  csrf = (await res.json()).csrf;
}

async function post(path, body, accept) {
  let res;
  try {
    res = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
      body: JSON.stringify(body ?? {}),
    });
  } catch (e) {
    throw new ApiError(0, 'unreachable', 'The daemon does not answer. Is it running?');
  }
  if (res.status === 401) onLoggedOut();
  if (!res.ok) {
    let kind = 'error', message = `HTTP ${res.status}`;
    try {
      const j = await res.json();
      kind = j.error.kind;
      message = j.error.message;
    } catch (_) { /* not JSON: keep the status */ }
    throw new ApiError(res.status, kind, message);
  }
  return accept === 'text' ? res.text() : (await res.json()).result;
}

// One API call: the method's result, or an ApiError with the service's message.
export function call(method, params = {}) {
  const clean = {};
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) clean[k] = v;
  return post(`/rest/${method}`, clean);
}

export function qrSvg(text) {
  return post('/qr', { text }, 'text');
}

export async function logOut() {
  await fetch('/logout', { method: 'POST', credentials: 'same-origin', headers: { 'X-CSRF-Token': csrf } });
  onLoggedOut();
}

// Follows the event log from now: `handle(events)` for each batch, until
// stop() is called. A failure waits a little longer each time (at most 10 s)
// and tells `onHealth(false)`; the next answer tells `onHealth(true)`.
export function followEvents(since, handle, onHealth) {
  let stopped = false;
  let delay = 500;
  (async () => {
    while (!stopped) {
      try {
        const asked = Date.now();
        const page = await call('events_poll', { since, timeout_ms: 25000, limit: 1000 });
        since = page.last_id;
        delay = 500;
        onHealth(true);
        if (page.events.length) handle(page.events);
        // Nothing, long before the wait was up: the daemon let this poll go
        // for newer ones (many pages open). Not straight back.
        else if (Date.now() - asked < 20000) await new Promise((r) => setTimeout(r, 5000));
      } catch (e) {
        if (e.status === 401) return;
        // The daemon restarted: its ids began again. Read from its start.
        if (e.kind === 'invalid_argument' && /since/.test(e.message)) since = 0;
        onHealth(false, e.message);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 10000);
      }
    }
  })();
  return () => { stopped = true; };
}
