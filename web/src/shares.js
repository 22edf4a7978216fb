// The shares screen (each share's state at a glance, pause, resume, rescan)
// and the two ways to get a new one: share a folder, or join from a token.
import { useState } from 'preact/hooks';
import { call } from './api.js';
import { refreshAll, refreshShare } from './store.js';
import { Action, Completion, FormStatus, StateBadge, ago, bytes, html, plural, useSubmit } from './ui.js';

export function needText(share) {
  const parts = [];
  if (share.need_files) parts.push(`${plural(share.need_files, 'file')} (${bytes(share.need_bytes)})`);
  if (share.need_deletes) parts.push(plural(share.need_deletes, 'deletion'));
  return parts.length ? parts.join(', ') + ' to do' : 'nothing';
}

export function peersText(share) {
  const connected = share.connected_devices.length;
  if (!share.peers.length) return connected ? `${connected} connected (they dialled this device)` : 'no peers yet';
  return `${connected} of ${share.peers.length} connected`;
}

// What the shares screen and a share's page both say of a share.
export function ShareFacts({ share }) {
  return html`<dt>Folder</dt><dd class="path">${share.path}</dd>
    <dt>Access</dt><dd>${share.mode}</dd>
    <dt>Complete</dt><dd><${Completion} share=${share} /></dd>
    <dt>Needed</dt><dd>${needText(share)}</dd>
    <dt>Peers</dt><dd>${peersText(share)}</dd>
    <dt>Last in sync</dt><dd>${ago(share.last_in_sync)}</dd>`;
}

export function SyncButtons({ share }) {
  const toggle = () =>
    call('share_set_sync_enabled', { share: share.id, enabled: !share.enabled }).then(() => refreshShare(share.id));
  return html`<div class="buttons">
    <${Action} label=${share.enabled ? 'Pause' : 'Resume'} run=${toggle}
      title=${share.enabled ? 'Stop syncing with peers (scanning goes on)' : 'Sync with peers again'} />
    <${Action} label="Rescan" run=${() => call('share_rescan', { share: share.id }).then(() => refreshShare(share.id))}
      title="Look at the folder for changes now" />
  </div>`;
}

function ShareCard({ share }) {
  const titleId = `share-${share.id}`;
  return html`<article class="card" aria-labelledby=${titleId}>
    <header class="card-head">
      <h2 id=${titleId}><a href=${`#/share/${share.id}`}>${share.name}</a></h2>
      <${StateBadge} share=${share} />
    </header>
    <dl class="facts"><${ShareFacts} share=${share} /></dl>
    ${share.state === 'error' && html`<p class="error">${share.state_reason || share.last_error}</p>`}
    <${SyncButtons} share=${share} />
  </article>`;
}

export function ShareList({ store }) {
  const shares = [...store.shares.values()].sort((a, b) => a.name.localeCompare(b.name));
  return html`<section aria-labelledby="shares-title">
    <div class="section-head">
      <h1 id="shares-title">Shares</h1>
      <div class="buttons">
        <a class="button" href="#/add">Share a folder</a>
        <a class="button" href="#/join">Join a share</a>
      </div>
    </div>
    ${shares.length === 0 &&
    html`<p class="empty">Nothing is shared yet. Share a folder of yours, or join one with a token from another device.</p>`}
    <div class="cards">${shares.map((s) => html`<${ShareCard} key=${s.id} share=${s} />`)}</div>
  </section>`;
}

export function AddShare() {
  const [path, setPath] = useState('');
  const [name, setName] = useState('');
  const form = useSubmit(async () => {
    const info = await call('share_add', { path, name: name || undefined });
    refreshAll();
    location.hash = `#/share/${info.id}`;
  });
  return html`<section aria-labelledby="add-title" class="narrow">
    <h1 id="add-title">Share a folder</h1>
    <p>Tandem keeps the folder as it is and adds its encrypted repository inside, in <code>.tandem</code>.</p>
    <form onSubmit=${form.onSubmit}>
      <label for="add-path">Folder (absolute path on this device)</label>
      <input id="add-path" value=${path} onInput=${(e) => setPath(e.target.value)} required placeholder="/home/me/Documents"
        autocomplete="off" spellcheck="false" />
      <label for="add-name">Name (optional)</label>
      <input id="add-name" value=${name} onInput=${(e) => setName(e.target.value)} placeholder="the folder's name" />
      <button type="submit" disabled=${form.busy}>Share this folder</button>
      <${FormStatus} ...${form} />
    </form>
  </section>`;
}

export function JoinShare() {
  const [token, setToken] = useState('');
  const [path, setPath] = useState('');
  const [name, setName] = useState('');
  const [peer, setPeer] = useState('');
  const form = useSubmit(async () => {
    const info = await call('share_import_from_token', { token: token.trim(), path, name: name || undefined });
    if (peer.trim()) await call('share_add_peer', { share: info.id, address: peer.trim() });
    refreshAll();
    location.hash = `#/share/${info.id}`;
  });
  return html`<section aria-labelledby="join-title" class="narrow">
    <h1 id="join-title">Join a share</h1>
    <p>Paste the token another device shows for the share. A write token lets this device change the files,
      a read token only receives them, a blind token keeps an encrypted copy it cannot read.</p>
    <form onSubmit=${form.onSubmit}>
      <label for="join-token">Token</label>
      <textarea id="join-token" rows="3" value=${token} onInput=${(e) => setToken(e.target.value)} required
        placeholder="tandem:…" spellcheck="false"></textarea>
      <label for="join-path">Folder to sync into (absolute path on this device)</label>
      <input id="join-path" value=${path} onInput=${(e) => setPath(e.target.value)} required autocomplete="off"
        spellcheck="false" />
      <label for="join-name">Name (optional)</label>
      <input id="join-name" value=${name} onInput=${(e) => setName(e.target.value)} />
      <label for="join-peer">A peer to sync with (optional), tcp/HOST:PORT</label>
      <input id="join-peer" value=${peer} onInput=${(e) => setPeer(e.target.value)} placeholder="tcp/192.168.1.20:20209"
        autocomplete="off" spellcheck="false" />
      <button type="submit" disabled=${form.busy}>Join</button>
      <${FormStatus} ...${form} />
    </form>
  </section>`;
}
