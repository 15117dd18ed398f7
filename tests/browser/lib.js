/* lib.js: what the dashboard browser checks share: launching Debian's
 * chromium through playwright-core, collecting console errors, and comparing
 * every chart on the page with the JSON it must have been drawn from. */
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('playwright-core');

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

async function launch() {
  return chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: CHROMIUM_ARGS, timeout: 60000 });
}

/* A page that records console errors and uncaught exceptions. */
async function openPage(browser, width, height) {
  const page = await browser.newPage({ viewport: { width, height: height || 900 } });
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push('console: ' + m.text()); });
  page.on('pageerror', (e) => errors.push('pageerror: ' + e.message));
  page.on('requestfailed', (r) => errors.push('request failed: ' + r.url() + ' ' + (r.failure() || {}).errorText));
  return { page, errors };
}

function close(a, b, what) {
  assert.ok(typeof a === 'number' && typeof b === 'number' && Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)),
    `${what}: page shows ${a}, expected ${b}`);
}
const fixed = (v, d) => Number(v).toFixed(d);

function perClass(m, key, c, i) {
  if (Array.isArray(m[key]) && m[key].length > i) return m[key][i];
  return ((m.per_class_metrics || {})[c] || {})[key];
}

/* Every number the quality charts show, against the metrics document. */
async function checkQuality(page, metrics, classes) {
  let checked = 0;
  for (const [i, c] of classes.entries()) {
    for (const key of ['precision', 'recall', 'f1_score']) {
      const want = perClass(metrics, key, c, i);
      const sel = `#chart-prf [data-category="${c}"][data-series="${key}"]`;
      const bar = await page.$(`${sel}.bar`);
      assert.ok(bar, `no ${key} bar for ${c}`);
      close(Number(await bar.getAttribute('data-value')), want, `${key} of ${c}`);
      const label = await page.$(`${sel}.val`);
      assert.equal(await label.textContent(), fixed(want, 2), `${key} label of ${c}`);
      checked += 2;
    }
  }
  const cm = metrics.confusion_matrix;
  for (const [i, r] of classes.entries()) {
    const sum = cm[i].reduce((a, b) => a + b, 0);
    for (const [j, c] of classes.entries()) {
      const cell = `[data-row="${r}"][data-col="${c}"]`;
      assert.equal(await page.textContent(`#chart-cm text${cell}`), String(cm[i][j]), `count ${r}->${c}`);
      assert.equal(await page.textContent(`#chart-cm-norm text${cell}`), (sum ? (100 * cm[i][j] / sum) : 0).toFixed(0) + '%',
        `row-normalised ${r}->${c}`);
      checked += 2;
    }
  }
  return checked;
}

/* Training curves and the retraining table/trend against the history. */
async function checkTraining(page, hist, records) {
  let checked = 0;
  const series = { 'chart-loss': ['loss', 'val_loss'], 'chart-acc': ['accuracy', 'val_accuracy'], 'chart-lr': ['lr'] };
  for (const [chart, keys] of Object.entries(series)) {
    for (const k of keys) {
      if (!Array.isArray(hist[k]) || !hist[k].length) continue;
      const p = await page.$(`#${chart} path[data-series="${k}"]`);
      assert.ok(p, `no ${k} curve`);
      const shown = JSON.parse(await p.getAttribute('data-values'));
      assert.equal(shown.length, hist[k].length, `${k}: epochs`);
      shown.forEach((v, e) => close(v, hist[k][e], `${k} epoch ${e + 1}`));
      checked += shown.length;
    }
  }
  const rows = await page.$$('#table-history tbody tr');
  if (records.length) {
    assert.equal(rows.length, records.length, 'retraining table rows');
    const accs = records.map((r) => r.test_accuracy).filter((v) => typeof v === 'number');
    const pts = await page.$$eval('#chart-trend circle.point', (cs) => cs.map((c) => Number(c.getAttribute('data-value'))));
    assert.deepEqual(pts, accs, 'trend points');
    checked += rows.length + pts.length;
  }
  return checked;
}

function artifactsDir() {
  const d = path.join(process.env.ES_BUILD_DIR || '.', 'test-artifacts', 'dashboard');
  fs.mkdirSync(d, { recursive: true });
  return d;
}

module.exports = { launch, openPage, checkQuality, checkTraining, artifactsDir, close, perClass };
