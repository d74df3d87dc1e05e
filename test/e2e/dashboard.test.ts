/**
 * The dashboard in a real browser (Debian's Chromium, driven by playwright-core) against the real
 * service and a worker: sign in with an API key, submit a short job from a known task and an
 * uploaded dataset, watch its loss curve grow from the event stream until `succeeded`, and run a
 * prediction with its prompt. Screenshots go to a temporary folder, named in the test's output.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { parseDataset } from '../../src/engine/datasets/parse-dataset.js';
import { TASK_CATALOG } from '../../src/engine/tasks/task-catalog.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { DATASETS_DIR } from '../helpers/shared.js';

const CHROMIUM = process.env.LOPT_CHROMIUM ?? '/usr/bin/chromium';
const REQUIRED = process.env.LOPT_REQUIRE_BROWSER_TESTS === '1';
const skip = existsSync(CHROMIUM) ? false : REQUIRED ? false : `no browser at ${CHROMIUM} (apt install chromium, or set LOPT_CHROMIUM)`;
const SHOTS = join(tmpdir(), `lopt-dashboard-${process.pid}`);

let service: TestService;
let browser: Browser;
let page: Page;
let baseUrl: string;
let key: string;
const consoleErrors: string[] = [];

/** What the page functions below touch of the page (this test compiles without the DOM's types). */
interface InPage {
  document: { getElementById(id: string): { dataset: Record<string, string | undefined>; textContent: string | null } | null };
}

const shot = async (name: string) => {
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  process.stderr.write(`# dashboard screenshot: ${path}\n`);
};

before(async () => {
  if (skip) return;
  mkdirSync(SHOTS, { recursive: true });
  service = await startTestService({ LOPT_CHECKPOINT_EVERY: '10' });
  await service.app.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(service.app.server.address() as { port: number }).port}`;
  key = await service.newKey('dashboard');
  service.startWorker();
  const rows = parseDataset(readFileSync(join(DATASETS_DIR, 'ag_news', 'train.csv'), 'utf8'), TASK_CATALOG.ag_news.reading).slice(0, 200);
  const csv = ['label,content', ...rows.map((r) => `${r.fields.label},"${r.fields.text!.replaceAll('"', '""')}"`)].join('\n');
  const uploaded = await service.call(key, 'POST', '/v1/datasets?name=agnews-200&preset=ag_news', '/v1/datasets', csv, 'text/csv');
  assert.equal(uploaded.status, 201, JSON.stringify(uploaded.body));
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.on('console', (message) => message.type() === 'error' && consoleErrors.push(message.text()));
  page.on('pageerror', (err) => consoleErrors.push(err.message));
});
after(async () => {
  await browser?.close();
  await service?.close();
});

test('sign in, submit a job, watch its curve grow to succeeded, and predict with its prompt', { skip, timeout: 400_000 }, async () => {
  await page.goto(`${baseUrl}/ui`);
  await page.fill('#key', 'lopt_not-a-key');
  await page.click('#sign-in button');
  await page.waitForSelector('.error');
  await page.fill('#key', key);
  consoleErrors.length = 0; // the refused key's 401 was meant
  await page.click('#sign-in button');
  await page.waitForSelector('#jobs');

  await page.click('a[href="#/new"]');
  await page.waitForSelector('#new-job');
  await page.selectOption('#task', 'ag_news');
  await page.selectOption('#dataset', { label: 'agnews-200 (200 rows)' });
  await page.selectOption('#method', 'lopt1');
  await page.fill('#max-steps', '60');
  await page.fill('#eval-every', '20');
  await shot('1-new-job');
  await page.click('#new-job button[type=submit]');
  await page.waitForSelector('#chart .uplot');

  // The curve grows while the job runs: points arrive from the event stream.
  await page.waitForFunction(() => Number((globalThis as unknown as InPage).document.getElementById('chart')?.dataset.points ?? 0) >= 2, undefined, { timeout: 240_000 });
  await shot('2-training');
  await page.waitForFunction(() => (globalThis as unknown as InPage).document.getElementById('status')?.textContent === 'succeeded', undefined, { timeout: 240_000 });
  const points = await page.$eval('#chart', (el) => [Number(el.getAttribute('data-points')), Number(el.getAttribute('data-validation-points'))]);
  assert.ok(points[0]! >= 6, `training loss at every 10 steps at least, got ${points[0]} points`);
  assert.equal(points[1], 3, 'validation accuracy at steps 20, 40 and 60');
  assert.match(await page.textContent('#events') ?? '', /the job succeeded/);
  await shot('3-succeeded');

  await page.click('#prompt');
  await page.waitForSelector('#try');
  await page.fill('#inputs', 'Stocks fell sharply on Wall Street as oil prices rose.\nThe striker scored twice in the final.');
  await page.click('#try');
  await page.waitForSelector('#outputs .label');
  const labels = await page.$$eval('#outputs .label', (cells) => cells.map((cell) => cell.textContent ?? ''));
  assert.equal(labels.length, 2);
  for (const label of labels) assert.match(label, /^[1-4] \((World|Sports|Business|science)\)$/);
  await shot('4-predict');
  assert.deepEqual(await page.$$eval('.error', (boxes) => boxes.map((box) => box.textContent).filter(Boolean)), [], 'the page showed no errors');
  assert.deepEqual(consoleErrors, [], `the page logged errors (a Content-Security-Policy refusal would show here): ${consoleErrors.join(' | ')}`);
});
