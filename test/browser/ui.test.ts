import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ROOT } from '../root.js';
import { launchChromium } from './chromium.js';

/** The page at `/` of a real `duality run` (embedded log) in Debian's Chromium; screenshots for the README. */

// The README's screenshots are rewritten only when asked (UPDATE_SCREENSHOTS=1), so a test run leaves the clone clean.
const IMAGES = process.env.UPDATE_SCREENSHOTS === '1' ? `${ROOT}docs/images/` : `${mkdtempSync(join(tmpdir(), 'duality-screens-'))}/`;
const VIEWPORT = { width: 1280, height: 800 };

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  if (process.env.UPDATE_SCREENSHOTS !== '1') rmSync(IMAGES, { recursive: true, force: true });
});

interface Running {
  readonly url: string;
  stop(): Promise<void>;
}

/** `duality run FILE` as a child process on a free port, once /readyz says ready. */
async function run(topology: string, env: Record<string, string> = {}): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'duality-ui-'));
  const child: ChildProcess = spawn(process.execPath, [`${ROOT}bin/duality.js`, 'run', `${ROOT}topologies/${topology}.yaml`, '--port', '0', '--state-dir', dir], {
    env: { ...process.env, ...env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    let seen = '';
    child.stdout!.on('data', (d: Buffer) => {
      seen += d.toString();
      const m = /running on .*, (http:\/\/\S+)/.exec(seen);
      if (m) resolve(m[1]!);
    });
    void exited.then((code) => reject(new Error(`duality run exited (${code}) before it listened:\n${seen}${output}`)));
  });
  while ((await fetch(`${url}/readyz`)).status !== 200) await new Promise((r) => setTimeout(r, 50));
  return {
    url,
    async stop() {
      child.kill('SIGTERM');
      assert.equal(await exited, 0, output);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function post(url: string, topic: string, records: unknown[], token?: string): Promise<void> {
  const res = await fetch(`${url}/topics/${topic}/records`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(records),
  });
  assert.equal(res.status, 200, await res.text());
}

async function open(url: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: VIEWPORT, deviceScaleFactor: 1 });
  const problems: string[] = [];
  // A script refused by the Content-Security-Policy, or one that throws, shows here.
  page.on('console', (m) => {
    // Not the browser's notes of 401 and 404 answers, which the page shows as messages itself.
    if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of 40[14]/.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`${url}/`);
  return { page, problems };
}

const rateOf = (page: Page, node: string): Promise<number> => page.locator(`[data-node="${node}"] .rate`).getAttribute('data-rate').then(Number);

test('WordCount: the graph shows every node, the rates rise as records arrive, a key lookup shows its count', async () => {
  const app = await run('wordcount');
  try {
    const { page, problems } = await open(app.url);
    for (const node of ['lines.source', 'word-counts.0.flatMapValues', 'word-counts.1.filter', 'word-counts.2.groupBy', 'word-counts.3.repartition-sink', 'word-counts.3.repartition-source', 'word-counts.3.count', 'word-counts.sink']) {
      await page.locator(`[data-node="${node}"]`).waitFor();
    }
    for (const topic of ['TextLinesTopic', 'WordsWithCountsTopic', 'wordcount-word-counts-repartition']) await page.locator(`[data-topic="${topic}"]`).waitFor();
    await page.locator('[data-store="word-counts"]').waitFor();
    assert.equal(await page.locator('.group').count(), 2);
    assert.equal(await page.locator('#state').textContent(), 'running');
    await page.locator('#instances .task', { hasText: '1_0' }).waitFor();
    assert.equal(await rateOf(page, 'word-counts.3.count'), 0);

    await post(app.url, 'TextLinesTopic', Array.from({ length: 200 }, (_, i) => ({ value: `all streams lead to kafka ${i % 7 === 0 ? 'hello' : 'stream'}` })));
    // The page's own scripts only: its Content-Security-Policy refuses the evaluated kind waitForFunction sends.
    await page.locator('[data-node="word-counts.3.count"] .rate[data-rate]:not([data-rate="0"])').waitFor();
    assert.ok((await rateOf(page, 'word-counts.3.count')) > 0);
    await page.locator('[data-node="lines.source"] .rate', { hasText: '200 in' }).waitFor();
    await page.screenshot({ path: `${IMAGES}ui-topology.png` });

    await page.locator('#key').fill('kafka');
    await page.locator('#lookup').click();
    await page.locator('#table-result td', { hasText: '200' }).waitFor();
    await page.locator('#key').fill('nope');
    await page.locator('#lookup').click();
    await page.locator('#table-status', { hasText: 'no key "nope" in word-counts' }).waitFor();
    await page.locator('#prefix').fill('st');
    await page.locator('#scan').click();
    await page.locator('#table-result td', { hasText: '"streams"' }).waitFor();
    assert.deepEqual(await page.locator('#table-result tbody td:first-child').allTextContents(), ['"stream"', '"streams"']);
    assert.deepEqual(problems, []);
    await page.close();
  } finally {
    await app.stop();
  }
});

test('sales-per-product: a windowed lookup shows the key\'s windows; a record that fails shows in the dead letters with its cause', async () => {
  const app = await run('sales-per-product');
  try {
    await post(app.url, 'sales', [
      { key: 'sku-1', value: { qty: 2, at: '2026-11-24T10:01:00Z' } },
      { key: 'sku-1', value: { qty: 1, at: '2026-11-24T10:04:00Z' } },
      { key: 'sku-1', value: { qty: 5, at: '2026-11-24T10:12:00Z' } },
      { key: 'sku-2', value: { qty: 1, at: '2026-11-24T10:13:00Z' } },
      // No `at`: its timestamp expression fails, and it goes to the dead-letter topic.
      { key: 'sku-9', value: { qty: 1 }, timestamp: '2026-11-24T10:14:00Z' },
    ]);
    const { page, problems } = await open(app.url);
    await page.locator('[data-node="sales-per-product-10m.2.count"]').waitFor();
    await page.locator('#table').selectOption('sales-per-product-10m');
    assert.equal(await page.locator('#prefix-label').isHidden(), true);
    await page.locator('#key').fill('sku-1');
    await page.locator('#from').fill('2026-11-24T10:00:00Z');
    await page.locator('#to').fill('2026-11-24T10:30:00Z');
    await page.locator('#lookup').click();
    await page.locator('#table-status', { hasText: '2 windows of "sku-1"' }).waitFor();
    assert.deepEqual(
      (await page.locator('#table-result tbody tr').allTextContents()),
      ['"sku-1"2026-11-24 10:00Z2026-11-24 10:10Z2', '"sku-1"2026-11-24 10:10Z2026-11-24 10:20Z1'],
    );
    await page.locator('#dlq td', { hasText: 'EXPRESSION' }).waitFor();
    assert.match((await page.locator('#dlq tbody tr').first().textContent())!, /^2026-11-24 10:14:00Zsales-0@4sales\.sourceEXPRESSIONno such field 'at'.*sku-9\{"qty":1\}$/);
    await page.locator('.dlq-panel').scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${IMAGES}ui-table.png` });
    assert.deepEqual(problems, []);
    await page.close();
  } finally {
    await app.stop();
  }
});

test('with DUALITY_API_TOKEN the page asks for the token; a wrong one gets a clear message, the right one shows the topology', async () => {
  const token = 'right-token-1234';
  const app = await run('wordcount', { DUALITY_API_TOKEN: token });
  try {
    const { page, problems } = await open(app.url);
    await page.locator('#auth-message', { hasText: 'This server needs an API token' }).waitFor();
    await page.locator('#token').fill('wrong-token');
    await page.locator('#auth-form button').click();
    await page.locator('#auth-message', { hasText: 'The token was refused: the bearer token is not the one this server was started with' }).waitFor();
    await page.screenshot({ path: `${IMAGES}ui-token.png` });
    await page.locator('#token').fill(token);
    await page.locator('#auth-form button').click();
    await page.locator('[data-node="word-counts.3.count"]').waitFor();
    assert.equal(await page.locator('#auth').isHidden(), true);
    await page.locator('#instances .task', { hasText: '0_0' }).waitFor();
    assert.deepEqual(problems, []);
    await page.close();
  } finally {
    await app.stop();
  }
});
