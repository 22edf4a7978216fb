// Real daemons and a real browser for the UI tests: each Daemon is the
// tandem binary (TANDEM_BIN) as a process with its own config folder, peers
// on loopback and its web UI on a free loopback port; the browser is
// Debian's chromium (CHROMIUM, default /usr/bin/chromium), headless, driven
// by playwright-core. Waits poll a condition against a deadline.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const BIN = process.env.TANDEM_BIN;
if (!BIN) throw new Error('set TANDEM_BIN to the tandem binary');
export const ARTIFACTS = process.env.TANDEM_UI_ARTIFACTS ?? path.resolve('test-results');

// Polls `condition` (sync or async) every 50 ms until it is truthy or
// `timeoutMs` passes; then throws saying what was awaited.
export async function waitUntil(condition, what, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export class TempDir {
  constructor() {
    this.path = mkdtempSync(path.join(tmpdir(), 'tandem-ui-'));
  }
  sub(name) {
    const p = path.join(this.path, name);
    mkdirSync(p, { recursive: true });
    return p;
  }
  remove() {
    rmSync(this.path, { recursive: true, force: true });
  }
}

export class Daemon {
  constructor(dir, name) {
    this.name = name;
    this.config = path.join(dir, `config-${name}`);
    this.logPath = path.join(dir, `${name}.log`);
  }

  tandem(...args) {
    return execFileSync(BIN, ['--config-dir', this.config, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }
  json(...args) {
    return JSON.parse(this.tandem(...args, '--json'));
  }

  async start() {
    const log = openSync(this.logPath, 'a');
    this.process = spawn(BIN, ['--config-dir', this.config, 'daemon', '--listen', 'tcp/127.0.0.1:0',
      '--gui', '127.0.0.1:0', '--log-level', 'debug'], { stdio: ['ignore', log, log] });
    this.exited = false;
    this.process.on('exit', () => { this.exited = true; });
    await waitUntil(() => {
      if (this.exited) throw new Error(`daemon ${this.name} exited:\n${this.log()}`);
      try {
        this.device = this.json('device');
        return true;
      } catch (_) {
        return false;
      }
    }, `daemon ${this.name} to answer`, 20000);
    this.address = `tcp/127.0.0.1:${this.device.listening_port}`;
    this.url = this.json('gui').url;
  }

  loginUrl() {
    return this.json('gui').login_url;
  }

  log() {
    try {
      return readFileSync(this.logPath, 'utf8');
    } catch (_) {
      return '';
    }
  }

  async stop() {
    if (!this.process || this.exited) return;
    const ended = new Promise((r) => this.process.once('exit', r));
    this.process.kill('SIGTERM');
    await ended;
  }
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    // Tests run as root, where chromium's sandbox cannot start.
    args: ['--no-sandbox'],
  });
}

// A browser context of its own for `daemon` (cookies are per host, not per
// port), logged in through a fresh one-time link; its page is at the shares.
export async function openUi(browser, daemon, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  await page.goto(daemon.loginUrl());
  await page.getByRole('heading', { name: 'Shares', level: 1 }).waitFor();
  return page;
}

// Runs `body`; if it throws, every page in `pages()` is photographed into
// ARTIFACTS (named after the test) before the error goes on.
export async function withScreenshotsOnFailure(t, pages, body) {
  try {
    await body();
  } catch (e) {
    mkdirSync(ARTIFACTS, { recursive: true });
    const base = t.name.replace(/[^A-Za-z0-9]+/g, '-');
    let i = 0;
    for (const page of pages()) {
      try {
        await page.screenshot({ path: path.join(ARTIFACTS, `${base}-${i++}.png`), fullPage: true });
      } catch (_) { /* a closed page */ }
    }
    throw e;
  }
}
