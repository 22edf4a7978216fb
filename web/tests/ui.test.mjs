// The web UI in a real browser (issue 22): two real daemons, each driven
// only through its own page, as a person would, with the files on disk as
// the proof. On failure every page's screenshot is kept in ARTIFACTS.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Daemon, TempDir, launchBrowser, openUi, waitUntil, withScreenshotsOnFailure } from './harness.mjs';

const SCREENSHOTS = process.env.TANDEM_UI_SCREENSHOTS; // docs/ screenshots when set

let tmp, a, b, browser, pageA, pageB, dirA, dirB;

function read(p) {
  try {
    return readFileSync(p, 'utf8');
  } catch (_) {
    return null;
  }
}

async function shot(page, name) {
  if (SCREENSHOTS) await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

function region(page, name) {
  return page.getByRole('region', { name, exact: true });
}

const pages = () => [pageA, pageB].filter(Boolean);

before(async () => {
  tmp = new TempDir();
  dirA = tmp.sub('photos-a');
  dirB = path.join(tmp.path, 'photos-b');
  a = new Daemon(tmp.path, 'a');
  b = new Daemon(tmp.path, 'b');
  await a.start();
  await b.start();
  browser = await launchBrowser();
  pageA = await openUi(browser, a);
  pageB = await openUi(browser, b);
});

after(async () => {
  await browser?.close();
  await a?.stop();
  await b?.stop();
  if (process.exitCode) {
    console.log(`--- daemon a ---\n${a?.log()}\n--- daemon b ---\n${b?.log()}`);
  } else {
    tmp?.remove();
  }
});

test('a share made in one UI is joined in the other by pasting its token, and a 32 MiB file arrives to 100%', async (t) => {
  await withScreenshotsOnFailure(t, pages, async () => {
    // A: share a folder.
    await pageA.getByRole('navigation').getByRole('link', { name: 'Share a folder' }).click();
    await pageA.getByLabel('Folder (absolute path on this device)').fill(dirA);
    await pageA.getByLabel('Name (optional)').fill('Photos');
    await pageA.getByRole('button', { name: 'Share this folder' }).click();
    await pageA.getByRole('heading', { name: 'Photos', level: 1 }).waitFor();
    await waitUntil(() => existsSync(path.join(dirA, '.tandem')), "A's repository");

    // A: the write token, as text and as a QR code.
    const tokens = region(pageA, 'Invite a device');
    await tokens.getByRole('button', { name: 'Show write token' }).click();
    const token = await tokens.getByLabel(/^write token/).inputValue();
    assert.match(token, /^tandem:/);
    const qr = tokens.getByRole('img', { name: 'QR code of the write token' });
    await qr.waitFor();
    assert.ok((await qr.evaluate((img) => img.naturalWidth)) > 0, 'the QR code is drawn');
    await shot(pageA, 'share-page');

    // B: join by pasting it, with A as the peer.
    await pageB.getByRole('navigation').getByRole('link', { name: 'Join' }).click();
    await pageB.getByLabel('Token').fill(token);
    await pageB.getByLabel('Folder to sync into (absolute path on this device)').fill(dirB);
    await pageB.getByLabel('Name (optional)').fill('Photos');
    await pageB.getByLabel(/A peer to sync with/).fill(a.address);
    await shot(pageB, 'join');
    await pageB.getByRole('button', { name: 'Join', exact: true }).click();
    await pageB.getByRole('heading', { name: 'Photos', level: 1 }).waitFor();

    // A file dropped into A's folder: B's page shows it arriving, then done.
    const big = randomBytes(32 << 20);
    writeFileSync(path.join(dirA, 'big.bin'), big);
    const arriving = region(pageB, 'Arriving');
    await arriving.getByRole('progressbar', { name: /^big\.bin: / }).waitFor({ timeout: 60000 });
    await arriving.getByRole('progressbar', { name: 'big.bin: 100%' }).waitFor({ timeout: 60000 });
    await region(pageB, 'Status').getByRole('progressbar', { name: 'Photos: 100% complete' }).waitFor({ timeout: 60000 });
    await region(pageB, 'Status').getByText('up to date').waitFor();
    assert.ok(readFileSync(path.join(dirB, 'big.bin')).equals(big), 'the whole file arrived');
    await shot(pageB, 'arrived');

    // The shares screen shows the same.
    await pageB.getByRole('navigation').getByRole('link', { name: 'Shares' }).click();
    const card = pageB.getByRole('article', { name: 'Photos' });
    await card.getByRole('progressbar', { name: 'Photos: 100% complete' }).waitFor();
    await card.getByText('1 of 1 connected').waitFor();
    await shot(pageB, 'shares');
    await card.getByRole('link', { name: 'Photos' }).click();
  });
});

test('a conflict is shown with both versions and resolved with a button', async (t) => {
  await withScreenshotsOnFailure(t, pages, async () => {
    // Both pause, both write the same new file, both resume: a conflict.
    for (const page of [pageA, pageB]) {
      await page.getByRole('button', { name: 'Pause' }).first().click();
      await region(page, 'Status').getByText('paused', { exact: true }).waitFor();
    }
    writeFileSync(path.join(dirA, 'plan.txt'), 'A wrote this plan');
    writeFileSync(path.join(dirB, 'plan.txt'), 'B wrote another plan');
    for (const page of [pageA, pageB]) {
      await page.getByRole('button', { name: 'Rescan' }).first().click();
      await page.getByRole('button', { name: 'Resume' }).first().click();
    }
    const conflicts = region(pageA, 'Conflicts');
    const item = conflicts.getByRole('listitem', { name: 'Conflict on plan.txt' });
    await item.waitFor({ timeout: 60000 });
    // Both sides, side by side.
    await item.getByRole('heading', { name: 'On this device' }).waitFor();
    await item.getByRole('heading', { name: /^The other version/ }).waitFor();
    await shot(pageA, 'conflict');
    const mine = read(path.join(dirA, 'plan.txt'));
    await item.getByRole('button', { name: "Keep this device's" }).click();
    await conflicts.getByText('No conflicts.').waitFor({ timeout: 30000 });
    // Every copy is gone on both devices, and both hold what A kept.
    const copies = (dir) => readdirSync(dir).filter((n) => n.includes('sync-conflict'));
    await waitUntil(() => copies(dirA).length === 0 && copies(dirB).length === 0, 'the conflict copies to go');
    await waitUntil(() => read(path.join(dirB, 'plan.txt')) === mine, "B to hold A's kept version");
    assert.equal(read(path.join(dirA, 'plan.txt')), mine);
  });
});

test('a conflict copy another device made is listed without a reload, and goes when it is deleted there', async (t) => {
  await withScreenshotsOnFailure(t, pages, async () => {
    // What A sees when B settled a conflict: the copy arrives as a file.
    writeFileSync(path.join(dirB, 'memo.txt'), 'the memo as it is');
    writeFileSync(path.join(dirB, 'memo.sync-conflict-20260101-000000-ABCDEFG.txt'), 'the memo as it was');
    const conflicts = region(pageA, 'Conflicts');
    await conflicts.getByRole('listitem', { name: 'Conflict on memo.txt' }).waitFor({ timeout: 30000 });
    unlinkSync(path.join(dirB, 'memo.sync-conflict-20260101-000000-ABCDEFG.txt'));
    await conflicts.getByText('No conflicts.').waitFor({ timeout: 30000 });
  });
});

test('ignore patterns are checked before saving, say why a path is ignored, and stop a file syncing', async (t) => {
  await withScreenshotsOnFailure(t, pages, async () => {
    const ignore = region(pageA, 'Ignore patterns');
    await ignore.getByLabel('.tandemignore').fill('*.log\n');
    await ignore.getByRole('button', { name: 'Check and save' }).click();
    await ignore.getByText('Saved; in force now.').waitFor();
    assert.equal(read(path.join(dirA, '.tandemignore')), '*.log\n');

    // A malformed pattern is refused with its line, and nothing is saved.
    await ignore.getByLabel('.tandemignore').fill('*.log\n[oops\n');
    await ignore.getByRole('button', { name: 'Check and save' }).click();
    await ignore.getByRole('alert').filter({ hasText: '.tandemignore:2' }).waitFor();
    assert.equal(read(path.join(dirA, '.tandemignore')), '*.log\n');

    // Why is it ignored?
    await ignore.getByLabel('Why is this path ignored (or not)?').fill('logs/debug.log');
    await ignore.getByRole('button', { name: 'Check', exact: true }).click();
    await ignore.getByText('logs/debug.log: ignored by .tandemignore:1: *.log').waitFor();
    await shot(pageA, 'ignore');

    writeFileSync(path.join(dirA, 'debug.log'), 'noise');
    writeFileSync(path.join(dirA, 'keep.txt'), 'worth syncing');
    await waitUntil(() => read(path.join(dirB, 'keep.txt')) === 'worth syncing', 'keep.txt on B');
    // The scan that sent keep.txt met debug.log and left it out.
    await region(pageA, 'Status').getByText('1 path', { exact: true }).waitFor();
    assert.equal(existsSync(path.join(dirB, 'debug.log')), false, 'the ignored file stayed on A');
    assert.equal(read(path.join(dirA, 'debug.log')), 'noise');
  });
});

test('a version a peer replaced is listed and restored with a button', async (t) => {
  await withScreenshotsOnFailure(t, pages, async () => {
    writeFileSync(path.join(dirA, 'notes.txt'), 'first notes');
    await waitUntil(() => read(path.join(dirB, 'notes.txt')) === 'first notes', 'notes.txt on B');
    writeFileSync(path.join(dirB, 'notes.txt'), "B's rewrite");
    await waitUntil(() => read(path.join(dirA, 'notes.txt')) === "B's rewrite", "B's rewrite on A");

    const versions = region(pageA, 'Versions');
    const row = versions.getByRole('row').filter({ hasText: 'notes.txt' });
    await row.waitFor({ timeout: 30000 });
    await shot(pageA, 'versions');
    await row.getByRole('button', { name: 'Restore' }).click();
    await waitUntil(() => read(path.join(dirA, 'notes.txt')) === 'first notes', 'the old notes back on A');
    await waitUntil(() => read(path.join(dirB, 'notes.txt')) === 'first notes', 'the restore to reach B');
  });
});

test('the event log tells what happened, and every control has a name a screen reader can say', async (t) => {
  await withScreenshotsOnFailure(t, pages, async () => {
    await pageA.getByRole('navigation').getByRole('link', { name: 'Events' }).click();
    const changes = pageA.getByRole('list', { name: 'Recent changes, newest first' });
    await changes.getByText(/notes\.txt modified by/).first().waitFor();
    const events = pageA.getByRole('list', { name: 'Events, newest first' });
    await events.getByText(/conflict on plan\.txt resolved/).first().waitFor();
    await shot(pageA, 'events');
    for (const page of [pageA, pageB]) {
      for (const route of ['#/', '#/add', '#/join', '#/events']) {
        await page.evaluate((r) => { location.hash = r; }, route);
        const unnamed = await page.evaluate(() => {
          const bad = [];
          for (const el of document.querySelectorAll('input, select, textarea')) {
            if (!el.labels?.length && !el.getAttribute('aria-label')) bad.push(el.outerHTML);
          }
          for (const el of document.querySelectorAll('button, a')) {
            if (!(el.textContent.trim() || el.getAttribute('aria-label'))) bad.push(el.outerHTML);
          }
          return bad;
        });
        assert.deepEqual(unnamed, [], `controls without a name on ${route}`);
      }
      assert.deepEqual(page.errors, [], 'no script errors');
    }
  });
});

test("at a phone's width every screen fits without sideways scrolling", async (t) => {
  let phone;
  await withScreenshotsOnFailure(t, () => [phone].filter(Boolean), async () => {
    phone = await openUi(browser, a, { width: 375, height: 740 });
    const shareId = a.json('list')[0].id;
    for (const [route, name] of [['#/', 'phone-shares'], [`#/share/${shareId}`, 'phone-share'], ['#/join', 'phone-join']]) {
      await phone.evaluate((r) => { location.hash = r; }, route);
      await phone.getByRole('heading', { level: 1 }).first().waitFor();
      const width = await phone.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 375, `${route} is ${width} px wide`);
      await shot(phone, name);
    }
  });
});
