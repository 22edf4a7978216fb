// What the page knows, kept current by the event log: the device, every
// share's info, the latest events, and each share's files in flight. A share
// is read again (share_get_info) only when one of its events arrives, at
// most four times a second; nothing is polled on a timer.
import { useEffect, useState } from 'preact/hooks';
import { call, followEvents, startSession, whenLoggedOut } from './api.js';

const kKeptEvents = 500;
const kRefreshDelayMs = 250;

const state = {
  ready: false,
  loggedOut: false,
  healthy: true,
  healthMessage: '',
  device: null,
  shares: new Map(), // id -> ShareInfo
  events: [], // newest last
  progress: new Map(), // share id -> the last download_progress (kept: the last arrivals stay shown)
  lists: new Map(), // share id -> {conflicts, versions, peers, ignore}: bumped by the events that change each list
  changed: 0, // bumps when any of the above changes
};

const listeners = new Set();
function changed() {
  state.changed++;
  for (const fn of listeners) fn(state.changed);
}

// The store, re-rendering the calling component when it changes.
export function useStore() {
  const [, setVersion] = useState(state.changed);
  useEffect(() => {
    listeners.add(setVersion);
    return () => listeners.delete(setVersion);
  }, []);
  return state;
}

const dirty = new Set();
let allDirty = false;
let refreshTimer = null;

function scheduleRefresh(shareId) {
  if (shareId) dirty.add(shareId);
  else allDirty = true;
  if (!refreshTimer) refreshTimer = setTimeout(refresh, kRefreshDelayMs);
}

async function refresh() {
  refreshTimer = null;
  const ids = [...dirty];
  const all = allDirty;
  dirty.clear();
  allDirty = false;
  try {
    if (all) {
      await loadShares();
    } else {
      for (const id of ids) {
        try {
          state.shares.set(id, await call('share_get_info', { share: id }));
        } catch (e) {
          if (e.status === 404) state.shares.delete(id); // removed meanwhile
          else throw e;
        }
      }
    }
    changed();
  } catch (_) {
    scheduleRefresh(null); // the event loop tells the user; try again with it
  }
}

async function loadShares() {
  const list = await call('share_list');
  state.shares = new Map(list.map((s) => [s.id, s]));
}

// Reads the share again now (after an action of the user's).
export function refreshShare(id) {
  scheduleRefresh(id);
}
export function refreshAll() {
  scheduleRefresh(null);
}

// Which of a share's lists an event may change. A share's page reads a list
// again only then (not on every change of its info: while files arrive that
// is several times a second, and each read is the share's store's time).
const kListsChangedBy = {
  conflict_created: ['conflicts'],
  conflict_resolved: ['conflicts', 'versions'],
  item_finished: ['versions'],
  local_change_detected: ['versions'],
  ignore_patterns_changed: ['ignore'],
  ignore_patterns_failed: ['ignore'],
  peer_connected: ['peers'],
  peer_disconnected: ['peers'],
  share_state_changed: ['peers'],
};

export function listsOf(shareId) {
  if (!state.lists.has(shareId)) state.lists.set(shareId, { conflicts: 0, versions: 0, peers: 0, ignore: 0 });
  return state.lists.get(shareId);
}

// A conflict copy is also a file like any other: one a peer made (it settled
// the conflict) arrives here as an item, and one deleted anywhere goes as one.
const kConflictCopy = /\.sync-conflict-\d{8}-\d{6}-/;

function bumpLists(e) {
  const names = [...(kListsChangedBy[e.type] ?? [])];
  if ((e.type === 'item_finished' || e.type === 'local_change_detected') && kConflictCopy.test(e.data?.path ?? '')) {
    names.push('conflicts');
  }
  if (!names.length) return;
  // Peer events name no share: every share's peers may have changed.
  const shares = e.share ? [e.share] : [...state.shares.keys()];
  for (const id of shares) for (const name of names) listsOf(id)[name]++;
}

function onEvents(events) {
  for (const e of events) {
    bumpLists(e);
    if (e.type === 'download_progress' && e.share) state.progress.set(e.share, e.data);
    scheduleRefresh(e.share ?? null);
  }
  state.events.push(...events);
  if (state.events.length > kKeptEvents) state.events.splice(0, state.events.length - kKeptEvents);
  changed();
}

export async function start() {
  whenLoggedOut(() => {
    state.loggedOut = true;
    changed();
  });
  await startSession();
  const [device] = await Promise.all([call('device_info'), loadShares()]);
  state.device = device;
  // The events kept from before the page opened give the recent history.
  const since = Math.max(0, state.device.last_event_id - 200);
  state.ready = true;
  changed();
  followEvents(since, onEvents, (ok, message) => {
    if (ok === state.healthy) return;
    state.healthy = ok;
    state.healthMessage = message ?? '';
    if (ok) scheduleRefresh(null);
    changed();
  });
}
