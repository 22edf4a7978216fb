// One share's page: its state, what is arriving, what failed, conflicts,
// a read replica's own changes, peers, tokens, ignore patterns and kept
// versions. Each list is read again only when an event that may change it
// arrives (store.js, kListsChangedBy) or the user changed it, never on a
// timer.
import { useEffect, useState } from 'preact/hooks';
import { call, qrSvg } from './api.js';
import { RecentChanges } from './events.js';
import { ShareFacts, SyncButtons } from './shares.js';
import { listsOf, refreshAll, refreshShare } from './store.js';
import { Action, FormStatus, StateBadge, bytes, html, plural, shortId, useSubmit, when } from './ui.js';

// `load` again whenever `key` changes; [value, error, setValue].
function useLoaded(load, key) {
  const [value, setValue] = useState(null);
  const [error, setError] = useState('');
  useEffect(() => {
    let live = true;
    load().then(
      (v) => live && (setValue(v), setError('')),
      (e) => live && setError(e.message),
    );
    return () => { live = false; };
  }, [key]);
  return [value, error, setValue];
}

function Section({ id, title, children, count }) {
  return html`<section class="panel" aria-labelledby=${id}>
    <h2 id=${id}>${title}${count != null && html` <span class="count">${count}</span>`}</h2>
    ${children}
  </section>`;
}

function Summary({ share }) {
  return html`<dl class="facts wide">
    <dt>State</dt><dd><${StateBadge} share=${share} /> <span class="muted">${share.state_reason}</span></dd>
    <${ShareFacts} share=${share} />
    <dt>Here</dt><dd>${`${plural(share.index.files, 'file')}, ${plural(share.index.directories, 'folder')}, ${bytes(share.index.bytes)}`}</dd>
    <dt>Rates</dt><dd>↓ ${bytes(share.download_rate)}/s · ↑ ${bytes(share.upload_rate)}/s</dd>
    <dt>Versions</dt><dd>${share.versioning.description}</dd>
    ${share.ignored > 0 && html`<dt>Ignored</dt><dd>${plural(share.ignored, 'path')}</dd>`}
  </dl>
  ${share.last_error && html`<p class="error" role="alert">${share.last_error}</p>`}
  ${share.ignore_error && html`<p class="error" role="alert">${share.ignore_error}</p>`}`;
}

function Arriving({ progress }) {
  const files = progress?.files ?? [];
  if (!files.length) return html`<p class="muted">Nothing has arrived since the page opened.</p>`;
  return html`<ul class="plain">
    ${files.map((f) => {
      const pct = f.bytes_total ? Math.floor((100 * f.bytes_done) / f.bytes_total) : 100;
      return html`<li key=${f.path} class="arriving">
        <span class="path">${f.path}</span>
        <progress max="100" value=${pct} aria-label=${`${f.path}: ${pct}%`}></progress>
        <span>${pct}% of ${bytes(f.bytes_total)}${f.finished ? ' · done' : ''}</span>
      </li>`;
    })}
  </ul>`;
}

function Failed({ share }) {
  if (!share.failed.length && !share.skipped.length) return html`<p class="muted">Nothing failed.</p>`;
  return html`<ul class="plain">
    ${share.failed.map((f) => html`<li key=${f.path}><span class="path">${f.path}</span>: <span class="error">${f.reason}</span></li>`)}
    ${share.skipped.map((s) => html`<li key=${s}><span class="error">not indexed: ${s}</span></li>`)}
  </ul>`;
}

function Side({ title, side }) {
  return html`<div class="side">
    <h4>${title}</h4>
    ${side.present
      ? html`<dl class="facts">
          <dt>By</dt><dd>device ${side.device}</dd>
          <dt>Changed</dt><dd>${when(side.mtime_ns / 1e9)}</dd>
          <dt>Size</dt><dd>${bytes(side.size)}</dd>
        </dl>`
      : html`<p>deleted${side.device ? ` by device ${side.device}` : ''}</p>`}
  </div>`;
}

function Conflicts({ share }) {
  const [list, error] = useLoaded(() => call('share_list_conflicts', { share: share.id }),
    `${share.id}:${listsOf(share.id).conflicts}`);
  if (error) return html`<p class="error">${error}</p>`;
  if (!list) return html`<p class="muted">Loading…</p>`;
  if (!list.length) return html`<p class="muted">No conflicts.</p>`;
  const resolve = (c, keep) => () =>
    call('share_resolve_conflict', { share: share.id, conflict: c.conflict, keep }).then(() => refreshShare(share.id));
  return html`<ul class="plain">
    ${list.map((c) => html`<li key=${c.conflict} class="conflict" aria-label=${`Conflict on ${c.path}`}>
      <h3 class="path">${c.path}</h3>
      <div class="sides">
        <${Side} title="On this device" side=${c.local} />
        <${Side} title=${`The other version (${c.conflict})`} side=${c.remote} />
      </div>
      <div class="buttons">
        <${Action} label="Keep this device's" run=${resolve(c, 'keep_local')} title="Delete the other version's copy" />
        <${Action} label="Keep the other" run=${resolve(c, 'keep_remote')} title="Put the other version in its place" />
        <${Action} label="Keep both" run=${resolve(c, 'keep_both')} title="Keep the copy under a plain name" />
      </div>
    </li>`)}
  </ul>`;
}

function LocalChanges({ share }) {
  const changes = share.local_changes;
  if (!changes.count) return html`<p class="muted">This read replica holds no changes of its own.</p>`;
  const revert = (path) => () =>
    call('share_revert_local_changes', { share: share.id, path }).then(() => refreshShare(share.id));
  return html`<p>This device only receives this share: these changes stay here until reverted.</p>
    <ul class="plain">
      ${changes.paths.map((c) => html`<li key=${c.path}>
        <span class="path">${c.path}</span> <span class="muted">${c.change} ${c.kind}</span>
        <${Action} label="Revert" run=${revert(c.path)} title=${`Put back the share's version of ${c.path}`} />
      </li>`)}
    </ul>
    <${Action} label=${`Revert all ${changes.count}`} run=${revert('')} confirm="Put back the share's version of every changed path?" />`;
}

function Peers({ share }) {
  const [list, error] = useLoaded(() => call('share_list_peers', { share: share.id }),
    `${share.id}:${listsOf(share.id).peers}:${share.peers.join(' ')}:${share.connected_devices.join(' ')}`);
  const [address, setAddress] = useState('');
  const form = useSubmit(async () => {
    await call('share_add_peer', { share: share.id, address: address.trim() });
    setAddress('');
    refreshShare(share.id);
    return 'Added.';
  });
  return html`
    ${error && html`<p class="error">${error}</p>`}
    ${list && !list.length && html`<p class="muted">No peers yet: add the address of a device that has this share.</p>`}
    ${list && html`<ul class="plain">
      ${list.map((p) => html`<li key=${p.address} class="peer">
        <span class=${`dot ${p.connected ? 'ok' : 'muted'}`} aria-hidden="true"></span>
        <span class="path">${p.address}</span>
        <span class="muted">${p.state}</span>
        <${Action} label="Remove" run=${() => call('share_remove_peer', { share: share.id, address: p.address }).then(() => refreshShare(share.id))}
          title=${`Forget ${p.address}`} />
      </li>`)}
    </ul>`}
    <form class="inline" onSubmit=${form.onSubmit}>
      <label for="peer-address">Add a peer (tcp/HOST:PORT)</label>
      <input id="peer-address" value=${address} onInput=${(e) => setAddress(e.target.value)} required
        placeholder="tcp/192.168.1.20:20209" autocomplete="off" spellcheck="false" />
      <button type="submit" disabled=${form.busy}>Add peer</button>
      <${FormStatus} ...${form} />
    </form>`;
}

const kModes = { write: ['write', 'read', 'blind'], read: ['read', 'blind'], blind: ['blind'] };
const kModeWords = {
  write: 'can change the files',
  read: 'receives the files, changes nothing',
  blind: 'keeps an encrypted copy it cannot read',
};

function Tokens({ share }) {
  const [shown, setShown] = useState(null); // {mode, token, qr}
  const [error, setError] = useState('');
  async function show(mode) {
    setError('');
    try {
      const { token } = await call('share_get_sync_token', { share: share.id, mode });
      const svg = await qrSvg(token);
      setShown({ mode, token, qr: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}` });
    } catch (e) {
      setError(e.message);
    }
  }
  return html`<p>Give a token to a device that should join. Anyone with it gets that access: send it privately.</p>
    <div class="buttons">
      ${kModes[share.mode].map((m) => html`<button type="button" key=${m} onClick=${() => show(m)}
        aria-pressed=${shown?.mode === m ? 'true' : 'false'} title=${kModeWords[m]}>Show ${m} token</button>`)}
    </div>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${shown && html`<div class="token">
      <label for="token-text">${shown.mode} token: the device ${kModeWords[shown.mode]}</label>
      <textarea id="token-text" readonly rows="3" value=${shown.token} onFocus=${(e) => e.target.select()}></textarea>
      <${Action} label="Copy" run=${() => navigator.clipboard.writeText(shown.token)} />
      <img class="qr" src=${shown.qr} alt=${`QR code of the ${shown.mode} token`} width="220" height="220" />
    </div>`}`;
}

function Ignore({ share }) {
  const [patterns, error, setPatterns] = useLoaded(() => call('share_get_ignore_patterns', { share: share.id }),
    `${share.id}:${listsOf(share.id).ignore}`);
  const [text, setText] = useState(null);
  const [path, setPath] = useState('');
  const [verdict, setVerdict] = useState(null);
  const save = useSubmit(async () => {
    const saved = await call('share_set_ignore_patterns', { share: share.id, text: text ?? patterns.text });
    setPatterns(saved);
    setText(null);
    refreshShare(share.id);
    return `Saved; ${saved.error ? saved.error : 'in force now'}.`;
  });
  const check = useSubmit(async () => {
    setVerdict(await call('share_check_ignored', { share: share.id, path: path.trim() }));
  });
  if (error) return html`<p class="error">${error}</p>`;
  if (!patterns) return html`<p class="muted">Loading…</p>`;
  return html`<p>One pattern a line, as in Syncthing's <code>.stignore</code>: <code>*.tmp</code>, <code>/build/</code>,
      <code>!keep.log</code>, <code>(?d)</code> to let a deleted folder take ignored files with it. An ignored path stays
      on disk and stops syncing. The patterns are checked before they are saved.</p>
    <form onSubmit=${save.onSubmit}>
      <label for="ignore-text">.tandemignore</label>
      <textarea id="ignore-text" rows="8" spellcheck="false" value=${text ?? patterns.text}
        onInput=${(e) => setText(e.target.value)}></textarea>
      <button type="submit" disabled=${save.busy || text == null}>Check and save</button>
      <${FormStatus} ...${save} />
    </form>
    <form class="inline" onSubmit=${check.onSubmit}>
      <label for="ignore-path">Why is this path ignored (or not)?</label>
      <input id="ignore-path" value=${path} onInput=${(e) => setPath(e.target.value)} required placeholder="build/out.o"
        spellcheck="false" autocomplete="off" />
      <button type="submit" disabled=${check.busy}>Check</button>
      <${FormStatus} ...${check} />
      ${verdict && html`<p role="status" class=${verdict.ignored ? 'busy-text' : 'ok'}>${verdict.path}: ${verdict.why}</p>`}
    </form>`;
}

function VersioningForm({ share }) {
  const v = share.versioning;
  const [type, setType] = useState(v.type);
  const [days, setDays] = useState(String(v.days));
  const [keep, setKeep] = useState(String(v.keep));
  const form = useSubmit(async () => {
    const params = { share: share.id, type };
    const whole = (text, what, min) => {
      if (!/^\d+$/.test(text.trim()) || Number(text) < min) throw new Error(`${what} must be a whole number from ${min} up`);
      return Number(text);
    };
    if (type !== 'none' && (type !== v.type || days !== String(v.days))) params.days = whole(days, 'The days', 0);
    if (type === 'simple') params.keep = whole(keep, 'The number of versions', 1);
    const set = await call('share_set_versioning', params);
    refreshShare(share.id);
    return `Versions: ${set.description}.`;
  });
  return html`<form class="inline" onSubmit=${form.onSubmit}>
    <label for="versioning-type">Keep replaced and deleted files</label>
    <select id="versioning-type" value=${type} onChange=${(e) => setType(e.target.value)}>
      <option value="none">no (none)</option>
      <option value="trashcan">the last version (trashcan)</option>
      <option value="simple">the last few versions (simple)</option>
      <option value="staggered">fewer as they age (staggered)</option>
    </select>
    ${type !== 'none' && html`<label for="versioning-days">for days (0: forever)</label>
      <input id="versioning-days" type="number" min="0" value=${days} onInput=${(e) => setDays(e.target.value)} />`}
    ${type === 'simple' && html`<label for="versioning-keep">versions of each file</label>
      <input id="versioning-keep" type="number" min="1" value=${keep} onInput=${(e) => setKeep(e.target.value)} />`}
    <button type="submit" disabled=${form.busy}>Save</button>
    <${FormStatus} ...${form} />
  </form>`;
}

function Versions({ share }) {
  const [list, error] = useLoaded(() => call('share_list_versions', { share: share.id }),
    `${share.id}:${listsOf(share.id).versions}`);
  const restore = (v) => () =>
    call('share_restore_version', { share: share.id, path: v.path, at: v.time }).then(() => refreshShare(share.id));
  return html`<${VersioningForm} share=${share} />
    ${error && html`<p class="error">${error}</p>`}
    ${list && !list.length && html`<p class="muted">No versions kept yet. When a peer replaces or deletes a file here,
      the old one is kept for you to restore.</p>`}
    ${list && list.length > 0 && html`<table>
      <caption class="visually-hidden">Kept versions</caption>
      <thead><tr><th scope="col">File</th><th scope="col">Kept</th><th scope="col">Size</th><th scope="col">By</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
      <tbody>
        ${list.map((v) => html`<tr key=${v.file}>
          <td class="path">${v.path}</td><td>${when(v.time)}</td><td>${bytes(v.size)}</td><td>${shortId(v.device)}</td>
          <td><${Action} label="Restore" run=${restore(v)} title=${`Put this version of ${v.path} back (what is there now is kept first)`} /></td>
        </tr>`)}
      </tbody>
    </table>`}`;
}

function Danger({ share }) {
  const remove = async () => {
    await call('share_remove', { share: share.id });
    refreshAll();
    location.hash = '#/';
  };
  return html`<p>Stop syncing this share. The files stay in the folder, and so does <code>.tandem</code>.</p>
    <${Action} label="Remove share" kind="danger" run=${remove}
      confirm=${`Stop syncing ${share.name}? Its files stay where they are.`} />`;
}

export function SharePage({ store, id }) {
  const share = store.shares.get(id);
  if (!share) {
    return html`<section class="narrow"><h1>No such share</h1><p>It may have been removed. <a href="#/">All shares</a></p></section>`;
  }
  const progress = store.progress.get(id);
  return html`<div class="share-page">
    <div class="section-head">
      <h1>${share.name}</h1>
      <${SyncButtons} share=${share} />
    </div>
    <${Section} id="s-summary" title="Status"><${Summary} share=${share} /><//>
    <${Section} id="s-arriving" title="Arriving"><${Arriving} progress=${progress} /><//>
    <${Section} id="s-failed" title="Failed" count=${share.failed.length + share.skipped.length}><${Failed} share=${share} /><//>
    <${Section} id="s-conflicts" title="Conflicts"><${Conflicts} share=${share} /><//>
    ${share.mode === 'read' && html`<${Section} id="s-local" title="Local changes" count=${share.local_changes.count}>
      <${LocalChanges} share=${share} /><//>`}
    <${Section} id="s-peers" title="Peers"><${Peers} share=${share} /><//>
    <${Section} id="s-tokens" title="Invite a device"><${Tokens} share=${share} /><//>
    ${share.mode !== 'blind' && html`<${Section} id="s-ignore" title="Ignore patterns"><${Ignore} share=${share} /><//>`}
    ${share.mode !== 'blind' && html`<${Section} id="s-versions" title="Versions"><${Versions} share=${share} /><//>`}
    <${Section} id="s-recent" title="Recent changes"><${RecentChanges} store=${store} share=${id} /><//>
    <${Section} id="s-remove" title="Remove"><${Danger} share=${share} /><//>
  </div>`;
}
