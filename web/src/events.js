// What happened: the event log (every event kept since the page opened,
// and the last 200 from before), and the recent changes to files.
import { html, shortId } from './ui.js';

const kChangeTypes = new Set(['local_change_detected', 'remote_change_detected']);

function time(e) {
  return new Date(e.time).toLocaleTimeString();
}

// One event in words.
export function describe(e) {
  const d = e.data ?? {};
  switch (e.type) {
    case 'share_state_changed': return `${d.from} → ${d.state}${d.reason ? `: ${d.reason}` : ''}`;
    case 'local_change_detected': return `${d.path} ${d.kind} here${d.kept_local ? ' (kept on this read replica)' : ''}`;
    case 'remote_change_detected': return `${d.path} ${d.kind} by ${shortId(d.device)}`;
    case 'item_started': return `${d.action} ${d.path} started`;
    case 'item_finished': return d.error ? `${d.action} ${d.path} failed: ${d.error}` : `${d.action} ${d.path} done`;
    case 'item_failed': return `${d.action} ${d.path} failed: ${d.reason}`;
    case 'download_progress': return `${d.files_in_progress} arriving`;
    case 'conflict_created': return `conflict on ${d.path}: the other version is ${d.copy}`;
    case 'conflict_resolved': return `conflict on ${d.path} resolved: ${d.done}`;
    case 'peer_connected': return `connected to ${shortId(d.device)} at ${d.address}`;
    case 'peer_disconnected': return `disconnected from ${shortId(d.device)}${d.reason ? `: ${d.reason}` : ''}`;
    case 'share_error': return d.message;
    case 'ignore_patterns_changed': return 'ignore patterns changed';
    case 'ignore_patterns_failed': return d.message;
    default: return JSON.stringify(d);
  }
}

function shareName(store, id) {
  return id ? store.shares.get(id)?.name ?? shortId(id) : '';
}

export function RecentChanges({ store, share, limit = 50 }) {
  const changes = store.events
    .filter((e) => kChangeTypes.has(e.type) && (!share || e.share === share))
    .slice(-limit)
    .reverse();
  if (!changes.length) return html`<p class="muted">No changes since the page opened.</p>`;
  return html`<ol class="plain log" aria-label="Recent changes, newest first">
    ${changes.map((e) => html`<li key=${e.id}>
      <time datetime=${e.time}>${time(e)}</time>
      ${!share && html`<span class="tag">${shareName(store, e.share)}</span>`}
      <span>${describe(e)}</span>
    </li>`)}
  </ol>`;
}

export function EventLog({ store }) {
  const events = store.events.filter((e) => e.type !== 'download_progress').slice(-300).reverse();
  return html`<section aria-labelledby="changes-title">
      <h1 id="changes-title">Recent changes</h1>
      <${RecentChanges} store=${store} />
    </section>
    <section aria-labelledby="events-title">
      <h1 id="events-title">Event log</h1>
      ${!events.length && html`<p class="muted">No events yet.</p>`}
      <ol class="plain log" aria-label="Events, newest first">
        ${events.map((e) => html`<li key=${e.id} class=${/failed|error/.test(e.type) ? 'error' : ''}>
          <time datetime=${e.time}>${time(e)}</time>
          <span class="tag">${e.type.replaceAll('_', ' ')}</span>
          ${e.share && html`<span class="tag">${shareName(store, e.share)}</span>`}
          <span>${describe(e)}</span>
        </li>`)}
      </ol>
    </section>`;
}
