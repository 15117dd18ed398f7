#!/usr/bin/env node
/* check_report.js REPORT.html VERSION_DIR [NAME]: open the report `ecosight report`
 * wrote in headless chromium (from a file, no server: it must be
 * self-contained) and check every chart against the model's JSON files. */
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { launch, openPage, checkQuality, checkTraining, artifactsDir } = require('./lib');

(async () => {
  const [report, dir, label] = process.argv.slice(2);
  const tag = label || 'report';
  const read = (f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  const metrics = read('performance_metrics.json');
  const hist = read('training_history.json');
  const meta = read('model_metadata.json');
  const logPath = path.join(dir, '..', 'retraining_log.json');
  const records = fs.existsSync(logPath) ? JSON.parse(fs.readFileSync(logPath, 'utf8')).retraining_history : [];
  const browser = await launch();
  try {
    const out = artifactsDir();
    for (const [name, width] of [['desktop', 1280], ['phone', 390]]) {
      const { page, errors } = await openPage(browser, width);
      const external = [];
      page.on('request', (r) => { if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) external.push(r.url()); });
      await page.goto('file://' + path.resolve(report));
      await page.waitForSelector('#chart-prf svg');
      let n = await checkQuality(page, metrics, meta.classes);
      n += await checkTraining(page, hist, records);
      assert.equal(await page.textContent('#q-accuracy'), (100 * meta.test_accuracy).toFixed(1) + ' %');
      assert.deepEqual(external, [], 'the report must not load anything from a network');
      assert.deepEqual(errors, [], 'console errors');
      const shot = path.join(out, `${tag}-${name}.png`);
      await page.screenshot({ path: shot, fullPage: true });
      console.log(`${tag} ${name} (${width}px): ${n} numbers match; screenshot ${shot}`);
      await page.close();
    }
  } finally {
    await browser.close();
  }
})().catch((e) => { console.error('FAIL:', e.message); process.exit(1); });
