// Small pieces every screen uses: formatting, a button that shows it is
// working and says what went wrong, and the share state's words.
import { h } from 'preact';
import { useState } from 'preact/hooks';
import htm from 'htm';

export const html = htm.bind(h);

export function bytes(n) {
  if (n == null) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

// "5 s ago", "3 min ago", or a date; "never" for 0.
export function ago(unixSeconds) {
  if (!unixSeconds) return 'never';
  const s = Math.max(0, Math.round(Date.now() / 1000 - unixSeconds));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(unixSeconds * 1000).toLocaleString();
}

export function when(unixSeconds) {
  return new Date(unixSeconds * 1000).toLocaleString();
}

export function shortId(id) {
  return id ? id.slice(0, 7) : '';
}

// A state's words and its colour class.
export function stateClass(state) {
  if (state === 'idle') return 'ok';
  if (state === 'error') return 'bad';
  if (state === 'paused') return 'muted';
  return 'busy';
}

export function StateBadge({ share }) {
  const label = share.state === 'idle' ? 'up to date' : share.state;
  return html`<span class=${`badge ${stateClass(share.state)}`} title=${share.state_reason}>${label}</span>`;
}

export function Completion({ share }) {
  if (share.completion == null) return html`<span class="muted">not known yet</span>`;
  return html`<span class="completion">
    <progress max="100" value=${share.completion} aria-label=${`${share.name}: ${share.completion}% complete`}></progress>
    <span>${share.completion}%</span>
  </span>`;
}

// A button for an action that takes time: disabled while it runs, its error
// shown beside it (role=alert, so a screen reader says it).
export function Action({ label, run, kind, confirm, title, disabled }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  async function click() {
    if (confirm && !window.confirm(confirm)) return;
    setBusy(true);
    setError('');
    try {
      await run();
    } catch (e) {
      setError(e.message);
    } finally {
      setBusy(false);
    }
  }
  return html`<span class="action">
    <button type="button" class=${kind ?? ''} onClick=${click} disabled=${busy || disabled} title=${title}
      aria-busy=${busy ? 'true' : 'false'}>${label}</button>
    ${error && html`<span class="error" role="alert">${error}</span>`}
  </span>`;
}

// A form whose submit runs `run`; shows its error, or `done`'s text.
export function useSubmit(run) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [done, setDone] = useState('');
  async function onSubmit(e) {
    e.preventDefault();
    setBusy(true);
    setError('');
    setDone('');
    try {
      setDone((await run()) ?? '');
    } catch (err) {
      setError(err.message);
    } finally {
      setBusy(false);
    }
  }
  return { busy, error, done, onSubmit };
}

export function FormStatus({ busy, error, done }) {
  return html`${busy && html`<span class="muted" role="status">Working…</span>`}
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${done && html`<p class="ok" role="status">${done}</p>`}`;
}
