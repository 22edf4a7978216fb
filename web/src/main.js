// The web UI's shell: header with this device, navigation by the URL's
// hash (#/, #/share/ID, #/add, #/join, #/events), and the screen.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { logOut } from './api.js';
import { EventLog } from './events.js';
import { SharePage } from './share.js';
import { AddShare, JoinShare, ShareList } from './shares.js';
import { start, useStore } from './store.js';
import { html } from './ui.js';

function useRoute() {
  const [hash, setHash] = useState(location.hash || '#/');
  useEffect(() => {
    const on = () => {
      setHash(location.hash || '#/');
      window.scrollTo(0, 0);
    };
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

// Times shown as "3 min ago" move on without asking the daemon anything.
function useMinuteTick() {
  const [, setTick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setTick((t) => t + 1), 30000);
    return () => clearInterval(timer);
  }, []);
}

function Device({ device }) {
  const [copied, setCopied] = useState(false);
  if (!device) return null;
  return html`<div class="device">
    <span class="muted">This device</span>
    <strong>${device.device_name}</strong>
    <code class="device-id" title="This device's id">${device.device_id}</code>
    <button type="button" class="small" onClick=${() => navigator.clipboard.writeText(device.device_id).then(() => setCopied(true))}>
      ${copied ? 'Copied' : 'Copy id'}</button>
    <span class="muted">peers reach it at port ${device.listening_port}</span>
  </div>`;
}

function Nav({ route }) {
  const link = (href, label, active) =>
    html`<a href=${href} aria-current=${active ? 'page' : undefined}>${label}</a>`;
  return html`<nav aria-label="Main">
    ${link('#/', 'Shares', route === '#/' || route.startsWith('#/share/'))}
    ${link('#/add', 'Share a folder', route === '#/add')}
    ${link('#/join', 'Join', route === '#/join')}
    ${link('#/events', 'Events', route === '#/events')}
    <button type="button" class="link" onClick=${logOut}>Log out</button>
  </nav>`;
}

function App() {
  const store = useStore();
  const route = useRoute();
  useMinuteTick();
  if (store.loggedOut) {
    return html`<main class="narrow"><h1>Tandem</h1>
      <p role="alert">You are logged out (the daemon restarted, or the password changed).</p>
      <p>On this machine, run <code>tandem gui</code> and open the link it prints, or <a href="/">log in with the
        password</a> if one is set.</p></main>`;
  }
  if (!store.ready) return html`<main><p class="loading" role="status">Loading…</p></main>`;
  let screen;
  if (route.startsWith('#/share/')) screen = html`<${SharePage} store=${store} id=${decodeURIComponent(route.slice(8))} />`;
  else if (route === '#/add') screen = html`<${AddShare} />`;
  else if (route === '#/join') screen = html`<${JoinShare} />`;
  else if (route === '#/events') screen = html`<${EventLog} store=${store} />`;
  else screen = html`<${ShareList} store=${store} />`;
  return html`<header class="top">
      <a class="brand" href="#/">Tandem</a>
      <${Nav} route=${route} />
    </header>
    <${Device} device=${store.device} />
    ${!store.healthy && html`<p class="banner error" role="alert">The daemon does not answer (${store.healthMessage}); trying again…</p>`}
    <main>${screen}</main>`;
}

const root = document.getElementById('app');
root.textContent = '';
render(html`<${App} />`, root);
start().catch((e) => {
  if (e.status !== 401) root.textContent = `Tandem's web UI could not start: ${e.message}`;
});
