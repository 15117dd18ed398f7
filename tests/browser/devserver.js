#!/usr/bin/env node
/* devserver.js: a development aid, not a test. Serves web/ straight from the
 * source tree (edit, reload: no rebuild) and answers the API's JSON endpoints
 * from fixtures/ (artifacts in the seed's shapes), so the page can be worked on
 * without a trained model. The browser tests never use it: they drive the real
 * `ecosight serve`.
 *
 *   node tests/browser/devserver.js [PORT] [FIXTURES_DIR]
 */
'use strict';
const http = require('http');
const fs = require('fs');
const path = require('path');

const port = +(process.argv[2] || 8099);
const fx = process.argv[3] || path.join(__dirname, 'fixtures');
const web = path.join(__dirname, '..', '..', 'web');
const started = Date.now();
const read = (f) => JSON.parse(fs.readFileSync(path.join(fx, f), 'utf8'));
let predictions = 0;
let retrain = { status: 'idle', stage: null, progress: 0 };
let version = read('model_metadata.json').model_name;

function json(res, code, obj) {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(obj));
}
const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const p = url.pathname;
  if (p === '/' && !/text\/html/.test(req.headers.accept || '')) return json(res, 200, { service: 'EcoSight (dev)', status: 'running' });
  if (p === '/' || p === '/dashboard' || p === '/dashboard/' || p.startsWith('/dashboard/')) {
    const name = p.startsWith('/dashboard/') && p.length > 11 ? p.slice(11) : 'index.html';
    if (name.includes('..') || !fs.existsSync(path.join(web, name))) return json(res, 404, { detail: 'Not Found' });
    res.writeHead(200, { 'Content-Type': types[path.extname(name)] || 'application/octet-stream' });
    return res.end(fs.readFileSync(path.join(web, name)));
  }
  const md = read('model_metadata.json');
  if (p === '/health') return json(res, 200, { status: 'healthy', timestamp: new Date().toISOString(), model_loaded: true });
  if (p === '/status') return json(res, 200, { status: 'running', uptime: (Date.now() - started) / 1000,
    total_predictions: predictions, model_loaded: true, model_name: version, training_date: md.training_date,
    test_accuracy: md.test_accuracy, num_classes: md.num_classes, classes: md.classes });
  if (p === '/metrics') return json(res, 200, read('performance_metrics.json'));
  if (p === '/training-history') return json(res, 200, { has_history: true,
    training_history: Object.assign({ epochs: read('training_history.json').loss.length }, read('training_history.json')),
    retraining_log: read('retraining_log.json') });
  if (p === '/models') return json(res, 200, { models: [{ version, live: true }], latest: version });
  if (p === '/retrain/status') return json(res, 200, retrain);
  let body = [];
  req.on('data', (c) => body.push(c));
  req.on('end', () => {
    if (p === '/predict') {
      predictions++;
      const c = md.classes, probs = {};
      c.forEach((k, i) => { probs[k] = i === 3 ? 0.7 : 0.1; });
      const r = { success: true, predicted_class: c[3], confidence: 0.7, all_probabilities: probs,
        processing_time: 0.01, timestamp: new Date().toISOString() };
      if (url.searchParams.get('timeline') === '1') r.timeline = { window: 4, hop: 1, duration: 20,
        events: [{ class: c[3], start: 2, end: 7, windows: 2, max_confidence: 0.9, mean_confidence: 0.8 },
                 { class: c[1], start: 11, end: 16, windows: 2, max_confidence: 0.7, mean_confidence: 0.6 }] };
      return json(res, 200, r);
    }
    if (p === '/upload') return json(res, 200, { success: true, message: 'stored', file_path: 'x', class: 'gun_shot', s3_uploaded: false });
    if (p === '/retrain') {
      if (retrain.status === 'running') return json(res, 200, { success: false, message: 'busy', status: 'in_progress' });
      const stages = ['scan', 'augment', 'features', 'train', 'evaluate', 'publish'];
      let i = 0;
      retrain = { status: 'running', stage: stages[0], progress: 0, started_at: new Date().toISOString() };
      const t = setInterval(() => {
        i++;
        if (i >= stages.length) { clearInterval(t); version = 'dev' + Date.now(); retrain = { status: 'completed', stage: 'done', progress: 1, new_version: version }; return; }
        retrain.stage = stages[i]; retrain.progress = i / stages.length;
      }, 700);
      return json(res, 200, { success: true, message: 'started', status: 'running' });
    }
    json(res, 404, { detail: 'Not Found' });
  });
}).listen(port, '127.0.0.1', () => console.log('devserver on http://127.0.0.1:' + port + '/dashboard'));
