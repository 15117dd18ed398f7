#!/usr/bin/env node
/* check_dashboard.js: drive the dashboard of a running `ecosight serve` in
 * headless chromium, as a person would, and hold it to the API:
 *   - the page loads with no console error, at / (text/html) and /dashboard;
 *   - status cards, every quality chart and every training curve show the
 *     served model's numbers (compared with GET /status, /metrics,
 *     /training-history);
 *   - predicting a file through the form shows the class and probabilities
 *     `ecosight predict` gives, with the waveform and spectrogram drawn;
 *   - uploading files and retraining through the page shows stage progress and
 *     ends with a new version being served;
 *   - screenshots at desktop and phone widths (no horizontal scrolling).
 *
 * Env: BASE (http://127.0.0.1:PORT), PREDICT_FILE, PREDICT_JSON (the output of
 * `ecosight predict --json PREDICT_FILE`), UPLOAD_FILES (':'-separated),
 * UPLOAD_CLASS, TOKEN (optional), RETRAIN_TIMEOUT_S, RETRAIN (1; 0 skips the retrain
 * step and says so loudly). */
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { launch, openPage, checkQuality, checkTraining, artifactsDir, close } = require('./lib');

const env = (k, d) => { const v = process.env[k]; if (v === undefined || v === '') { if (d !== undefined) return d; throw new Error(k + ' not set'); } return v; };
const BASE = env('BASE');
async function getJSON(p, headers) {
  const r = await fetch(BASE + p, { headers: headers || {} });
  assert.equal(r.status, 200, `GET ${p}: HTTP ${r.status}`);
  return r.json();
}
function step(msg) { console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`); }
function records(h) {
  const l = h.retraining_log;
  return Array.isArray(l) ? l : ((l && l.retraining_history) || []);
}

(async () => {
  const out = artifactsDir();
  /* GET / is JSON for API clients and the page for browsers. */
  const rootJson = await fetch(BASE + '/', { headers: { Accept: 'application/json' } });
  assert.match(rootJson.headers.get('content-type') || '', /json/, 'GET / for JSON clients');
  const rootHtml = await fetch(BASE + '/', { headers: { Accept: 'text/html,application/xhtml+xml' } });
  assert.match(rootHtml.headers.get('content-type') || '', /text\/html/, 'GET / for browsers');
  assert.match(await rootHtml.text(), /<title>EcoSight dashboard<\/title>/);

  const browser = await launch();
  try {
    const { page, errors } = await openPage(browser, 1280, 900);
    const status = await getJSON('/status');
    step(`serving ${status.model_name}; opening the dashboard`);
    await page.goto(BASE + '/dashboard');
    await page.waitForFunction((v) => document.getElementById('st-version').textContent === v, status.model_name, { timeout: 15000 });
    await page.waitForSelector('#chart-prf svg');
    await page.waitForSelector('#table-history tbody tr');
    assert.equal(await page.textContent('#st-date'), status.training_date);
    assert.equal(await page.textContent('#st-accuracy'), (100 * status.test_accuracy).toFixed(1) + ' %');
    assert.ok((await page.textContent('#st-classes')).startsWith(status.classes.join(', ')));

    /* The gun_shot threshold and the recall measured at it, and the Data table,
     * from /status (decision_thresholds, threshold_metrics, data). */
    assert.ok(status.decision_thresholds && status.threshold_metrics && status.data, '/status lacks the dashboard fields');
    const gt = status.threshold_metrics.gun_shot;
    await page.waitForFunction((v) => document.getElementById('q-threshold').textContent === v,
      status.decision_thresholds.gun_shot.toFixed(3), { timeout: 15000 });
    assert.equal(await page.textContent('#q-threshold-recall'), (100 * gt.recall).toFixed(1) + ' %', 'measured gun_shot recall');
    const s = (v) => (v === null || v === undefined ? '–' : String(v));
    const dataRow = (c) => { const x = status.data.classes[c] || {};
      return [c, s(x.originals), s(x.train) + ' / ' + s(x.val) + ' / ' + s(x.test), s(status.data.augmentations_per_file[c]),
              s(x.training_examples), s(x.new_since_training)]; };
    for (const c of status.classes) {
      const cells = await page.$$eval(`#table-data tr[data-class="${c}"] td`, (tds) => tds.map((t) => t.textContent));
      assert.deepEqual(cells, dataRow(c), `Data row of ${c} vs /status`);
    }
    step(`threshold, measured recall and ${status.classes.length} Data rows match /status`);

    const metrics = await getJSON('/metrics');
    const th = await getJSON('/training-history');
    let n = await checkQuality(page, metrics, status.classes);
    n += await checkTraining(page, th.training_history || {}, records(th));
    step(`${n} chart numbers match /metrics and /training-history`);
    await page.screenshot({ path: path.join(out, 'dashboard-desktop.png'), fullPage: true });

    /* Predict through the form. */
    const want = JSON.parse(fs.readFileSync(env('PREDICT_JSON'), 'utf8'));
    const cli = Array.isArray(want) ? want[0] : want;
    const before = Number(await page.textContent('#st-predictions'));
    await page.setInputFiles('#predict-file', env('PREDICT_FILE'));
    await page.click('#predict-go');
    await page.waitForSelector('#predicted-class', { timeout: 60000 });
    assert.equal(await page.textContent('#predicted-class'), cli.predicted_class, 'page vs ecosight predict');
    for (const [c, p] of Object.entries(cli.all_probabilities)) {
      const v = Number(await page.getAttribute(`#chart-probs rect.bar[data-category="${c}"]`, 'data-value'));
      assert.ok(Math.abs(v - p) < 1e-5, `probability of ${c}: page ${v}, ecosight predict ${p}`);
    }
    await page.waitForSelector('#chart-wave canvas', { timeout: 20000 });
    await page.waitForSelector('#chart-mel canvas[data-frames]', { timeout: 20000 });
    assert.ok(Number(await page.getAttribute('#chart-mel canvas', 'data-frames')) > 10, 'spectrogram frames');
    await page.waitForFunction((b) => Number(document.getElementById('st-predictions').textContent) > b, before, { timeout: 10000 });
    step(`predicted ${cli.predicted_class} (as ecosight predict); waveform and spectrogram drawn`);
    await (await page.$('#predict')).screenshot({ path: path.join(out, 'dashboard-predict.png') });

    /* A long recording: the page turns the timeline on and draws the server's
     * events, which must be the events of `ecosight predict --timeline`. */
    if (process.env.TIMELINE_FILE) {
      const tl = JSON.parse(fs.readFileSync(env('TIMELINE_JSON'), 'utf8'));
      const want = ((Array.isArray(tl) ? tl[0] : tl).timeline || {}).events || [];
      await page.setInputFiles('#predict-file', env('TIMELINE_FILE'));
      await page.waitForFunction(() => document.getElementById('predict-timeline').checked, null, { timeout: 20000 });
      await page.click('#predict-go');
      await page.waitForSelector('#chart-timeline svg', { timeout: 60000 });
      const shown = await page.$$eval('#chart-timeline rect.event', (rs) => rs.map((r) =>
        ({ cls: r.getAttribute('data-class'), start: Number(r.getAttribute('data-start')), end: Number(r.getAttribute('data-end')) })));
      assert.equal(shown.length, want.length, 'timeline events');
      want.forEach((e, i) => {
        assert.equal(shown[i].cls, e['class'], `event ${i} class`);
        close(shown[i].start, e.start, `event ${i} start`);
        close(shown[i].end, e.end, `event ${i} end`);
      });
      step(`timeline of a ${tl[0] ? tl[0].timeline.duration : '?'} s file: ${want.length} events as ecosight predict --timeline`);
      await (await page.$('#predict')).screenshot({ path: path.join(out, 'dashboard-timeline.png') });
    }

    /* Upload, then retrain through the page. */
    if (process.env.TOKEN) await page.fill('#token', process.env.TOKEN);
    const files = env('UPLOAD_FILES').split(':');
    await page.setInputFiles('#upload-files', files);
    await page.selectOption('#upload-class', env('UPLOAD_CLASS'));
    await page.click('#upload-go');
    await page.waitForFunction((k) => document.querySelectorAll('#upload-result li.ok').length === k ||
      document.querySelector('#upload-result li.error'), files.length, { timeout: 60000 });
    assert.equal(await page.$$eval('#upload-result li.error', (l) => l.map((e) => e.textContent)).then((e) => e.length), 0,
      'upload errors: ' + await page.textContent('#upload-result'));
    step(`uploaded ${files.length} file(s) as ${env('UPLOAD_CLASS')}`);

    let after = status, m2 = metrics;
    const oldVersion = status.model_name;
    if (env('RETRAIN', '1') === '1') {
      await page.fill('#retrain-reason', 'browser test');
      /* Record every stage/progress label the page shows while it runs. */
      await page.evaluate(() => {
        window.__seen = [];
        const bar = document.getElementById('retrain-progress');
        new MutationObserver(() => {
          const t = bar.querySelector('.label').textContent;
          if (window.__seen[window.__seen.length - 1] !== t) window.__seen.push(t);
        }).observe(bar, { subtree: true, childList: true, characterData: true, attributes: true });
      });
      await page.click('#retrain-go');
      /* Until the page says the run ended, or shows an error (then fail at once with it). */
      await page.waitForFunction(() => document.getElementById('retrain-done') || document.querySelector('#retrain-status .error'),
        null, { timeout: 1000 * Number(env('RETRAIN_TIMEOUT_S', '600')), polling: 500 });
      const retrainError = await page.$('#retrain-status .error');
      assert.equal(retrainError ? await retrainError.textContent() : null, null, 'retrain through the page failed');
    }
    if (env('RETRAIN', '1') === '1') {
      const seen = await page.evaluate(() => window.__seen);
      const doneText = await page.textContent('#retrain-done');
      after = await getJSON('/status');
      step(`retrain progress shown: ${seen.join(' | ')}`);
      assert.ok(seen.length >= 2, 'the page showed the retrain progressing');
      assert.notEqual(after.model_name, oldVersion, 'a new version is served after the retrain');
      assert.equal(doneText, 'New version live: ' + after.model_name);
      await page.waitForFunction((v) => document.getElementById('st-version').textContent === v, after.model_name, { timeout: 10000 });
      /* The charts follow the new model. */
      m2 = await getJSON('/metrics');
      const th2 = await getJSON('/training-history');
      await page.waitForFunction((k) => document.querySelectorAll('#table-history tbody tr').length === k, records(th2).length, { timeout: 10000 });
      n = await checkQuality(page, m2, after.classes) + await checkTraining(page, th2.training_history || {}, records(th2));
      step(`new version ${after.model_name} live; ${n} chart numbers match its metrics`);
      await (await page.$('#retrain')).screenshot({ path: path.join(out, 'dashboard-retrain.png') });
    } else {
      step('*** retrain through the page NOT checked (RETRAIN=0) ***');
    }

    /* Phone width: same page, no horizontal scrolling, charts still drawn. */
    const phone = await openPage(browser, 390, 844);
    await phone.page.goto(BASE + '/dashboard');
    await phone.page.waitForFunction((v) => document.getElementById('st-version').textContent === v, after.model_name, { timeout: 15000 });
    await phone.page.waitForSelector('#chart-cm svg');
    await checkQuality(phone.page, m2, after.classes);
    const sw = await phone.page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(sw <= 391, `phone layout scrolls sideways (${sw}px wide)`);
    await phone.page.screenshot({ path: path.join(out, 'dashboard-phone.png'), fullPage: true });

    assert.deepEqual(errors.concat(phone.errors), [], 'console errors');
    step(`no console errors; screenshots in ${out}`);
  } finally {
    await browser.close();
  }
})().catch((e) => { console.error('FAIL:', e.message); process.exit(1); });
