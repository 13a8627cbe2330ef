// The web UI in headless Chromium against a real `hrflow serve`: the graph renders every asset,
// Materialize runs the asset and its status changes, the run appears in the history.
// Usage: node web/tests/serve_ui.test.mjs <hrflow binary> <output dir>   (exit 0 = pass, 77 = skipped)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const [hrflow, outDir] = process.argv.slice(2);
const CHROMIUM = '/usr/bin/chromium';
if (!fs.existsSync(CHROMIUM)) { console.log('SKIP: /usr/bin/chromium is not installed (scripts/setup.sh installs it)'); process.exit(77); }
let chromium;
try { ({ chromium } = await import('playwright-core')); } catch {
  console.log('SKIP: playwright-core is not installed in web/node_modules (scripts/setup.sh installs it)'); process.exit(77);
}

const freePort = () => new Promise(resolve => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); }); });
async function waitFor(what, fn, ms = 30000) {
  const end = Date.now() + ms;
  for (;;) {
    try { if (await fn()) return; } catch { /* not yet */ }
    if (Date.now() > end) throw new Error('timed out waiting for ' + what);
    await new Promise(r => setTimeout(r, 100));
  }
}

fs.mkdirSync(outDir, { recursive: true });
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hrflow-ui-'));
fs.writeFileSync(path.join(work, 'hrflow.yml'), `state_dir: ${work}/.hrflow\n`);
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const serve = spawn(hrflow, ['-c', path.join(work, 'hrflow.yml'), 'serve', '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
let serveLog = '';
serve.stdout.on('data', d => serveLog += d); serve.stderr.on('data', d => serveLog += d);
let browser;
let failed = false;
try {
  await waitFor('hrflow serve', async () => (await fetch(base + '/api/health')).ok);
  const assets = await (await fetch(base + '/api/assets')).json();
  // A fresh profile (--user-data-dir) per run, given the way playwright-core takes it.
  browser = await chromium.launchPersistentContext(fs.mkdtempSync(path.join(os.tmpdir(), 'hrflow-chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
           '--disable-sync', '--no-first-run'],
  });
  const page = await browser.newPage();
  const external = [];
  page.on('request', r => { if (!r.url().startsWith(base)) external.push(r.url()); });
  await page.goto(base + '/');
  // Every asset is in the graph, in its group's column.
  await page.waitForSelector('.node');
  for (const a of assets) {
    const node = page.locator(`.column[data-group="${a.group}"] .node[data-asset="${a.key}"]`);
    if (await node.count() !== 1) throw new Error(`asset ${a.key} is not drawn in the ${a.group} column`);
  }
  const target = 'raw.heart_rate_stream';  // eager on the lake, which is empty here: only the click runs it
  const node = page.locator(`.node[data-asset="${target}"]`);
  const before = await node.getAttribute('data-state');
  if (before !== 'never built') throw new Error(`${target} starts as "${before}", expected "never built"`);
  await node.click();
  await page.locator('#materialize').click();
  await page.waitForFunction(t => { const n = document.querySelector(`.node[data-asset="${t}"]`); return n && n.dataset.state !== 'never built'; }, target, { timeout: 30000 });
  const after = await node.getAttribute('data-state');
  await page.waitForSelector(`#runs tbody tr td:nth-child(2):text("${target}")`, { timeout: 30000 });
  // The row of this run (retries of other assets may have started since; with full jitter, soon).
  await page.locator('#runs tbody tr', { hasText: target }).first().click();
  await page.waitForSelector('#run-log:not([hidden])');
  const log = await page.locator('#run-log').textContent();
  if (!log.includes(target)) throw new Error('the run log does not name the asset: ' + log);
  const decisions = await page.locator('#decisions li').allTextContents();
  if (!decisions.some(d => d.includes(target) && d.includes('manual'))) throw new Error('the automation history lacks the manual run');
  if (external.length) throw new Error('the UI fetched from elsewhere: ' + external.join(', '));
  await page.screenshot({ path: path.join(outDir, 'serve-ui.png'), fullPage: true });
  console.log(`PASS: ${assets.length} assets drawn; ${target}: "${before}" -> "${after}"; run in history; screenshot ${path.join(outDir, 'serve-ui.png')}`);
} catch (e) {
  failed = true;
  console.error('FAIL:', e.message, '\n--- hrflow serve log ---\n' + serveLog);
} finally {
  if (browser) await browser.close();
  serve.kill('SIGTERM');
  await new Promise(r => serve.once('exit', r));
  fs.rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
