#!/usr/bin/env node
// What the web UI costs (issue 22), against a real daemon on loopback and
// Debian's chromium, headless:
//   1. the page's first load: a fresh browser context (nothing cached)
//      from navigation to the shares drawn, every asset from the daemon;
//   2. a change to the page: a file written into the share's folder until
//      the page's recent changes show it (the watcher, a scan, the event,
//      the long poll, the page's render);
//   3. the daemon's RSS and CPU over --idle seconds: fresh, before any page
//      was served; after the runs above with no page open; and with the
//      page open and idle (the difference of the last two is the open
//      page's own cost; of the first two, what serving pages leaves behind).
// Medians of --runs runs. Usage:
//   node bench/gui_bench.mjs --tandem build/tandem [--runs 20] [--idle 60]
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const { chromium } = createRequire(path.join(here, '../web/package.json'))('playwright-core');

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, a, i, all) =>
  (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []));
const BIN = path.resolve(args.tandem ?? 'build/tandem');
const RUNS = Number(args.runs ?? 20);
const IDLE_S = Number(args.idle ?? 60);
const CLK_TCK = 100;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitUntil(fn, what, ms = 30000) {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(20);
  }
}

const work = mkdtempSync(path.join(tmpdir(), 'tandem-gui-bench-'));
const config = path.join(work, 'config');
const folder = path.join(work, 'share');
mkdirSync(folder);
for (let i = 0; i < 50; i++) writeFileSync(path.join(folder, `file-${i}.txt`), `file ${i}\n`);
const tandem = (...a) => execFileSync(BIN, ['--config-dir', config, ...a], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const log = openSync(path.join(work, 'daemon.log'), 'a');
const daemon = spawn(BIN, ['--config-dir', config, 'daemon', '--listen', 'tcp/127.0.0.1:0', '--gui', '127.0.0.1:0',
  '--log-level', 'warn'], { stdio: ['ignore', log, log] });

function procStat(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { cpuTicks: Number(fields[11]) + Number(fields[12]), rssKiB: Number(/VmRSS:\s+(\d+)/.exec(status)[1]) };
}

async function idleCost(seconds) {
  const before = procStat(daemon.pid);
  let peak = before.rssKiB;
  for (let i = 0; i < seconds; i++) {
    await sleep(1000);
    peak = Math.max(peak, procStat(daemon.pid).rssKiB);
  }
  const end = procStat(daemon.pid);
  return { cpuPercent: (100 * (end.cpuTicks - before.cpuTicks)) / (seconds * CLK_TCK), rssKiB: end.rssKiB, peakKiB: peak };
}

let browser;
try {
  await waitUntil(() => { try { tandem('device'); return true; } catch { return false; } }, 'daemon');
  tandem('add', folder, '--name', 'Bench');
  await waitUntil(() => JSON.parse(tandem('info', 'Bench', '--json')).state === 'waiting for peers', 'first scan');
  const login = () => JSON.parse(tandem('gui', '--json')).login_url;

  // 3a. The daemon before any page, after a settling pause.
  await sleep(5000);
  const fresh = await idleCost(IDLE_S);

  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });

  // 1. First loads: each in a fresh context (no cache, no cookie) through a login link.
  const loads = [];
  const inPage = [];
  let bytes = 0;
  for (let i = 0; i < RUNS; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    let transferred = 0;
    page.on('response', async (r) => {
      const size = Number(r.headers()['content-length'] ?? 0);
      transferred += size;
    });
    const url = login();
    const start = performance.now();
    await page.goto(url);
    await page.getByRole('article', { name: 'Bench' }).waitFor();
    loads.push(performance.now() - start);
    // The page's own clock: from the navigation's start (the login link,
    // its redirect included) to the shares drawn; no browser start-up.
    inPage.push(await page.evaluate(() => performance.now()));
    bytes = transferred;
    await context.close();
  }

  // 2. A change to the page.
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(login());
  await page.getByRole('link', { name: 'Events' }).click();
  const changes = [];
  for (let i = 0; i < RUNS; i++) {
    const name = `change-${i}.txt`;
    const start = performance.now();
    writeFileSync(path.join(folder, name), `change ${i}\n`);
    await page.getByRole('list', { name: 'Recent changes, newest first' }).getByText(`${name} added here`).waitFor();
    changes.push(performance.now() - start);
  }

  await context.close();

  // 3b. The same daemon after all that, with no page open.
  await sleep(5000);
  const alone = await idleCost(IDLE_S);

  // 3c. With the page open and idle, on the shares screen.
  const idleContext = await browser.newContext();
  const idlePage = await idleContext.newPage();
  await idlePage.goto(login());
  await idlePage.getByRole('article', { name: 'Bench' }).waitFor();
  await sleep(5000);
  const open = await idleCost(IDLE_S);

  const ms = (x) => `${x.toFixed(1)} ms`;
  console.log(`first load (fresh context, login link to shares drawn), median of ${RUNS}: ${ms(median(loads))}` +
    ` (min ${ms(Math.min(...loads))}, max ${ms(Math.max(...loads))}); ${(bytes / 1024).toFixed(1)} KiB on the wire;` +
    ` by the page's own clock (navigation start to shares drawn, at most): ${ms(median(inPage))}`);
  console.log(`file change to the page showing it, median of ${RUNS}: ${ms(median(changes))}` +
    ` (min ${ms(Math.min(...changes))}, max ${ms(Math.max(...changes))})`);
  const cost = (c) => `${c.cpuPercent.toFixed(3)} % of a core, RSS ${c.rssKiB} KiB`;
  console.log(`daemon idle over ${IDLE_S} s: fresh ${cost(fresh)}; after the runs, no page ${cost(alone)};` +
    ` page open ${cost(open)} (peak ${open.peakKiB} KiB)`);
  console.log(`the open page's own cost: ${(open.cpuPercent - alone.cpuPercent).toFixed(3)} % of a core,` +
    ` ${open.rssKiB - alone.rssKiB} KiB; left by serving pages: ${alone.rssKiB - fresh.rssKiB} KiB`);
} finally {
  await browser?.close();
  daemon.kill('SIGTERM');
  await new Promise((r) => daemon.once('exit', r));
  rmSync(work, { recursive: true, force: true });
}
