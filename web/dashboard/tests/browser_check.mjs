// Drives the dashboard in headless Chromium (Debian's, through playwright-core) and prints one JSON
// object with what it saw; dashboard_browser_test.cpp asserts on it. Usage:
//   node browser_check.mjs <playwright-core dir> <dashboard url> <screenshot dir> <profile dir>
import { createRequire } from 'node:module';
import path from 'node:path';
import fs from 'node:fs';

const [pwDir, url, shots, profile] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const { chromium } = require(path.join(pwDir, 'playwright-core'));

const out = { charts: {}, errors: [] };
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  acceptDownloads: true,
  viewport: { width: 1400, height: 1000 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
         '--disable-sync', '--no-first-run'],
});
try {
  const page = await context.newPage();
  page.on('pageerror', e => out.errors.push(String(e)));
  page.on('console', m => { if (m.type() === 'error') out.errors.push(m.text()); });
  // Offline: any request that leaves the server under test fails the check.
  const origin = new URL(url).origin;
  await page.route('**/*', route => {
    if (!route.request().url().startsWith(origin)) { out.errors.push('external request: ' + route.request().url()); return route.abort(); }
    return route.continue();
  });
  await page.goto(url);
  const allReady = async generation => page.waitForFunction(g => {
    if (document.body.dataset.generation !== String(g)) return false;
    return [...document.querySelectorAll('[data-chart]')].every(c => c.dataset.state === 'ready' || c.dataset.state === 'error');
  }, generation, { timeout: 60000 });
  await allReady(1);
  const snapshot = () => page.evaluate(() => {
    const charts = {};
    for (const c of document.querySelectorAll('[data-chart]')) {
      charts[c.dataset.chart] = {
        state: c.dataset.state, rows: Number(c.dataset.rows || 0),
        marks: c.querySelectorAll('.view svg path, .view svg rect, .view svg line').length,
        error: (c.querySelector('.error') || {}).textContent || '',
        suppressed: [...c.querySelectorAll('.suppressed li')].map(li => li.textContent),
        grey: c.querySelectorAll('.view svg path[fill="#d5d8de"], .view svg rect[fill="#d5d8de"]').length,
      };
    }
    const tiles = {};
    for (const t of document.querySelectorAll('#tiles [data-metric]')) tiles[t.dataset.metric] = t.dataset.value;
    const ev = document.getElementById('evaluation');
    return { charts, tiles, evaluation: ev.textContent, accuracy: ev.dataset.accuracy, baseline: ev.dataset.baseline,
             prediction: [...document.querySelectorAll('#prediction li')].map(li => li.textContent) };
  });
  const before = await snapshot();
  out.charts = before.charts;
  out.tiles_before = before.tiles;
  out.evaluation = before.evaluation;
  out.accuracy = Number(before.accuracy);
  out.baseline = Number(before.baseline);
  out.prediction = before.prediction;
  await page.screenshot({ path: path.join(shots, 'dashboard.png'), fullPage: true });

  // A filter applies to every chart: choose one sex and wait for the second refresh.
  await page.selectOption('#filters select[name=sex]', 'F');
  await allReady(2);
  const after = await snapshot();
  out.tiles_after = after.tiles;
  out.charts_after = after.charts;
  await page.screenshot({ path: path.join(shots, 'dashboard-sex-F.png'), fullPage: true });

  // Export one chart's data.
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: 20000 }),
    page.click('[data-chart="exercise_sex"] .export'),
  ]);
  const saved = path.join(shots, download.suggestedFilename());
  await download.saveAs(saved);
  out.download = { name: download.suggestedFilename(), text: fs.readFileSync(saved, 'utf8') };
} catch (e) {
  out.errors.push('check failed: ' + (e.stack || e));
} finally {
  await context.close();
}
console.log(JSON.stringify(out));
