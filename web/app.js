/* app.js: the EcoSight dashboard. In live mode (served by `ecosight serve`)
 * it polls the JSON API; in report mode (`ecosight report`) it reads the
 * model's JSON embedded in the page (script#es-report-data). Every section
 * renders only where its elements exist, so the report carries a subset of
 * the page with the same code. Field names follow the API (issue 8) and the
 * seed's artifact files; optional extras are drawn only when present. */
'use strict';
(function () {
  var $ = function (id) { return document.getElementById(id); };
  var mode = document.body.getAttribute('data-mode') || 'live';
  var state = { testAccuracy: null, version: null, classes: [], metrics: null, history: null, uploaded: 0, retrainPoll: null };

  function setText(id, v) { var e = $(id); if (e) e.textContent = v; }
  function num(v) { return typeof v === 'number' && isFinite(v) ? v : null; }
  function duration(s) {
    s = Math.floor(num(s) || 0);
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    return (d ? d + ' d ' : '') + (d || h ? h + ' h ' : '') + m + ' min ' + (s % 60) + ' s';
  }
  function secs(v) { return num(v) === null ? '–' : (v < 90 ? v.toFixed(1) + ' s' : duration(v)); }
  function clear(e) { while (e && e.firstChild) e.removeChild(e.firstChild); }
  function node(tag, cls, textv) { var e = document.createElement(tag); if (cls) e.className = cls; if (textv !== undefined) e.textContent = textv; return e; }
  function showErr(id, msg) { var c = $(id); if (!c) return; clear(c); c.appendChild(node('p', 'error', msg)); }
  function token() { var t = $('token'); return t && t.value ? t.value.trim() : ''; }
  function authHeaders(h) { h = h || {}; if (token()) h.Authorization = 'Bearer ' + token(); return h; }

  function api(path, opts) {
    return fetch(path, opts).then(function (r) {
      return r.text().then(function (t) {
        var body = null;
        try { body = t ? JSON.parse(t) : null; } catch (e) { body = { detail: t }; }
        if (!r.ok) {
          var d = body && body.detail !== undefined ? body.detail : r.statusText;
          var err = new Error('HTTP ' + r.status + ': ' + (typeof d === 'string' ? d : JSON.stringify(d)));
          err.status = r.status; throw err;
        }
        return body;
      });
    });
  }

  /* ---------------- Status ---------------- */
  function renderStatus(st) {
    setText('st-version', st.model_name || '–');
    setText('st-date', st.training_date || '–');
    setText('st-uptime', typeof st.uptime === 'number' ? duration(st.uptime) : (st.uptime ? String(st.uptime) : '–'));
    setText('st-predictions', st.total_predictions !== undefined ? String(st.total_predictions) : '–');
    setText('st-accuracy', ES.pct(num(st.test_accuracy)));
    setText('st-classes', (st.classes || []).join(', ') + (st.num_classes !== undefined ? ' (' + st.num_classes + ')' : ''));
  }
  function setLive(ok, msg) { var l = $('live'); if (l) { l.className = 'live ' + (ok ? 'ok' : 'down'); l.textContent = msg; } }

  function poll() {
    return api('/health').then(function (h) {
      if (!h || !h.model_loaded) { setLive(false, 'server up, no model loaded'); return null; }
      return api('/status').then(function (st) {
        renderStatus(st);
        /* A data summary, when the server gives one: {classes: {name: {originals,
         * train, val, test, training_examples, new_since_training}},
         * augmentations_per_file: {name: k}} (docs/DASHBOARD.md). */
        if (st.data && typeof st.data === 'object' && JSON.stringify(st.data) !== JSON.stringify(state.dataInfo)) {
          state.dataInfo = st.data; renderData();
        }
        setLive(true, 'live · updated ' + new Date().toLocaleTimeString());
        if (st.model_name !== state.version) {
          state.version = st.model_name;
          state.testAccuracy = num(st.test_accuracy);
          /* Decision thresholds live in the model's metadata; shown when the
           * server passes them on. */
          state.metadata = st.decision_thresholds ? { decision_thresholds: st.decision_thresholds,
            gun_shot_min_recall: st.gun_shot_min_recall, threshold_metrics: st.threshold_metrics } : null;
          state.classes = st.classes || [];
          fillClassSelect(state.classes);
          loadModel();
        }
        return st;
      });
    }).catch(function (e) { setLive(false, 'server unreachable (' + e.message + ')'); });
  }

  function loadModel() {
    api('/metrics').then(function (m) { state.metrics = m; renderQuality(m); renderData(); })
      .catch(function (e) { showErr('chart-prf', e.message); });
    api('/training-history').then(function (h) { state.history = h; renderTraining(h); renderData(); })
      .catch(function (e) { showErr('chart-loss', e.message); });
  }

  /* ---------------- Quality ---------------- */
  function classesOf(m) {
    if (Array.isArray(m.classes)) return m.classes;
    if (Array.isArray(m.class_names)) return m.class_names;
    if (state.classes.length) return state.classes;
    return m.per_class_metrics ? Object.keys(m.per_class_metrics) : [];
  }
  function perClass(m, key, c, ci) {
    if (Array.isArray(m[key]) && m[key].length > ci) return m[key][ci];
    var p = m.per_class_metrics && m.per_class_metrics[c];
    return p ? p[key] : null;
  }
  /* gun_shot threshold: tolerant of the shapes {thresholds: {gun_shot: {threshold, recall}}},
   * {thresholds: {gun_shot: 0.3}}, {decision_thresholds: ...}, {gun_shot_threshold, gun_shot_recall}. */
  function gunshot(m) {
    var md = state.metadata || {};
    var t = m.thresholds || m.decision_thresholds || m.class_thresholds || md.decision_thresholds || {};
    var g = t.gun_shot, out = { threshold: null, recall: null };
    if (typeof g === 'number') out.threshold = g;
    else if (g && typeof g === 'object') {
      out.threshold = num(g.threshold);
      out.recall = num(g.recall !== undefined ? g.recall : (g.test_recall !== undefined ? g.test_recall : g.val_recall));
    }
    if (out.threshold === null && num(m.gun_shot_threshold) !== null) out.threshold = m.gun_shot_threshold;
    if (out.recall === null && num(m.gun_shot_recall) !== null) out.recall = m.gun_shot_recall;
    /* The recall measured at the threshold on the test split
     * (performance_metrics.json's threshold_metrics, also in /status). */
    var tm = (m.threshold_metrics && m.threshold_metrics.gun_shot) || (md.threshold_metrics && md.threshold_metrics.gun_shot);
    if (out.recall === null && tm && num(tm.recall) !== null) {
      out.recall = tm.recall;
      if (out.threshold === null) out.threshold = num(tm.threshold);
    }
    out.target = num(md.gun_shot_min_recall);
    return out;
  }
  function curvesOf(m, kind) {
    /* {roc_curves: {cls: {fpr, tpr}}} or {roc_curve: {cls: ...}} / pr_curves {cls: {recall, precision}} */
    var c = kind === 'roc' ? (m.roc_curves || m.roc_curve || (m.roc && m.roc.curves)) : (m.pr_curves || m.pr_curve || m.precision_recall_curves);
    if (!c || typeof c !== 'object') return null;
    var xs = kind === 'roc' ? 'fpr' : 'recall', ys = kind === 'roc' ? 'tpr' : 'precision';
    var out = [];
    Object.keys(c).forEach(function (k) {
      if (c[k] && Array.isArray(c[k][xs]) && Array.isArray(c[k][ys])) out.push({ name: k, x: c[k][xs], y: c[k][ys] });
    });
    return out.length ? out : null;
  }
  function auc(m, key, c) { var v = m[key]; if (!v) return null; if (typeof v === 'object' && !Array.isArray(v)) return num(v[c]); return null; }

  function renderQuality(m) {
    var cls = classesOf(m);
    /* The seed's metrics file has no accuracy: then the model's (status or metadata). */
    var acc = num(m.accuracy) !== null ? m.accuracy : (num(m.test_accuracy) !== null ? m.test_accuracy : state.testAccuracy);
    setText('q-accuracy', ES.pct(acc));
    var f1s = cls.map(function (c, i) { return perClass(m, 'f1_score', c, i); });
    var macro = num(m.macro_f1) !== null ? m.macro_f1 :
      (f1s.length && f1s.every(function (v) { return num(v) !== null; }) ? f1s.reduce(function (a, b) { return a + b; }, 0) / f1s.length : null);
    setText('q-macro-f1', ES.fmt(macro));
    var g = gunshot(m);
    setText('q-threshold', ES.fmt(g.threshold, 3));
    /* Without a measured recall, say what the threshold was chosen for. */
    setText('q-threshold-recall', g.recall !== null ? ES.pct(g.recall) : (g.target !== null && g.threshold !== null ? '≥ ' + ES.pct(g.target) + ' (validation target)' : '–'));
    var series = [['precision', 'P', 'precision'], ['recall', 'R', 'recall'], ['f1_score', 'F1', 'F1 score']].map(function (k, i) {
      return { key: k[0], short: k[1], name: k[2], color: ES.COLORS[i],
               values: cls.map(function (c, ci) { return perClass(m, k[0], c, ci); }) };
    });
    if ($('chart-prf')) ES.bars($('chart-prf'), { categories: cls, series: series, yMax: 1, label: 'precision, recall and F1 per class' });
    if (Array.isArray(m.confusion_matrix)) {
      if ($('chart-cm')) ES.heatmap($('chart-cm'), { labels: cls, matrix: m.confusion_matrix, label: 'confusion matrix counts' });
      if ($('chart-cm-norm')) ES.heatmap($('chart-cm-norm'), { labels: cls, matrix: m.confusion_matrix, normalise: true, label: 'confusion matrix row-normalised' });
    }
    [['roc', 'fig-roc', 'chart-roc', 'roc_auc', 'AUC', 'false positive rate', 'true positive rate'],
     ['pr', 'fig-pr', 'chart-pr', 'average_precision', 'AP', 'recall', 'precision']].map(function (k) {
      /* Show both figures before drawing either: the grid's column widths
       * depend on how many are visible, and charts take their width. */
      var cur = curvesOf(m, k[0]), fig = $(k[1]);
      if (fig) fig.hidden = !cur;
      return [k, cur, fig];
    }).forEach(function (kc) {
      var k = kc[0], cur = kc[1];
      if (!kc[2] || !cur) return;
      ES.lines($(k[2]), { series: cur.map(function (s) {
        var a = auc(m, k[3], s.name);
        return { key: s.name, name: s.name + (a !== null ? ' (' + k[4] + ' ' + a.toFixed(3) + ')' : ''), x: s.x, y: s.y };
      }), xMin: 0, xMax: 1, yMin: 0, yMax: 1, diagonal: k[0] === 'roc', xLabel: k[5] + ' →   ↑ ' + k[6], label: k[0] + ' curves' });
    });
  }

  /* ---------------- Training ---------------- */
  function logRecords(h) {
    var l = h && h.retraining_log;
    if (l && !Array.isArray(l)) l = l.retraining_history || l.history || [];
    return Array.isArray(l) ? l : [];
  }
  function pick(o, keys) { for (var i = 0; i < keys.length; i++) if (o[keys[i]] !== undefined && o[keys[i]] !== null) return o[keys[i]]; return null; }
  function renderTraining(h) {
    var th = (h && (h.training_history || h.history)) || {};
    var loss = th.loss || [], has = h && h.has_history !== false && loss.length > 0;
    var none = $('train-none'); if (none) none.hidden = has;
    var epochs = loss.map(function (_, i) { return i + 1; });
    if (has) {
      if ($('chart-loss')) ES.lines($('chart-loss'), { integerX: true, points: loss.length <= 40, endLabels: true, xLabel: 'epoch', label: 'loss per epoch',
        series: [{ key: 'loss', name: 'train loss', x: epochs, y: loss, dash: '' },
                 { key: 'val_loss', name: 'validation loss', x: epochs, y: th.val_loss || [], dash: '6 3' }] });
      if ($('chart-acc')) ES.lines($('chart-acc'), { integerX: true, points: loss.length <= 40, endLabels: true, xLabel: 'epoch', label: 'accuracy per epoch',
        series: [{ key: 'accuracy', name: 'train accuracy', x: epochs, y: th.accuracy || [], dash: '' },
                 { key: 'val_accuracy', name: 'validation accuracy', x: epochs, y: th.val_accuracy || [], dash: '6 3' }] });
      var lr = th.lr || th.learning_rate;
      var lrFig = $('chart-lr');
      if (lrFig) {
        if (Array.isArray(lr) && lr.length) ES.lines(lrFig, { height: 200, integerX: true, step: true, logY: true, endLabels: true, digits: 7, xLabel: 'epoch', label: 'learning rate',
          series: [{ key: 'lr', name: 'learning rate', x: lr.map(function (_, i) { return i + 1; }), y: lr }] });
        else lrFig.textContent = 'The learning rate was not recorded for this model.';
      }
    }
    var recs = logRecords(h);
    var tb = $('table-history') ? $('table-history').querySelector('tbody') : null;
    if (tb) {
      clear(tb);
      recs.slice().reverse().forEach(function (r) {
        var tr = document.createElement('tr');
        var acc = num(pick(r, ['test_accuracy', 'accuracy', 'new_accuracy']));
        [pick(r, ['timestamp', 'date', 'training_date', 'finished_at']) || '–',
         pick(r, ['model_version', 'version', 'model_name']) || '–',
         pick(r, ['trigger_reason', 'reason']) || '–',
         ES.pct(acc),
         String(pick(r, ['train_samples', 'samples', 'total_samples', 'num_samples']) === null ? '–' : pick(r, ['train_samples', 'samples', 'total_samples', 'num_samples'])),
         secs(num(pick(r, ['duration_seconds', 'duration_s', 'duration', 'training_time'])))].forEach(function (v, i) {
          var td = node('td', i >= 3 ? 'num' : '', String(v)); tr.appendChild(td);
        });
        tb.appendChild(tr);
      });
      if (!recs.length) { var tr = document.createElement('tr'); var td = node('td', 'muted', 'No retraining runs recorded yet.'); td.colSpan = 6; tr.appendChild(td); tb.appendChild(tr); }
    }
    var trend = $('chart-trend');
    if (trend) {
      var pts = recs.map(function (r) { return num(pick(r, ['test_accuracy', 'accuracy', 'new_accuracy'])); });
      if (pts.some(function (v) { return v !== null; })) {
        ES.lines(trend, { height: 220, integerX: true, points: true, pointLabels: true, xLabel: 'retraining run', label: 'test accuracy per run',
          series: [{ key: 'test_accuracy', name: 'test accuracy', x: pts.map(function (_, i) { return i + 1; }), y: pts.map(function (v) { return v === null ? NaN : v; }) }] });
      } else trend.textContent = 'No retraining runs recorded yet.';
    }
  }

  /* ---------------- Data ---------------- */
  /* Augmented copies per original file, the training pipeline's default rule
   * (es_augment_per_file_auto): fewer originals get more copies. */
  function perFileAuto(n) { return n < 50 ? 10 : n < 200 ? 7 : n < 500 ? 5 : 3; }
  /* Per class: {originals, train, val, test, augmented, per_file, new}. Sources,
   * best first: a data summary from the server or the report (data.classes),
   * then the metrics' test support. */
  function dataRows(m) {
    var d = state.dataInfo || {}, dc = d.classes || {}, cls = classesOf(m);
    var apf = d.augmentations_per_file || {};
    return cls.map(function (c, i) {
      var x = dc[c] || {}, sup = perClass(m, 'support', c, i);
      var orig = num(x.originals);
      var k = num(apf[c]) !== null ? apf[c] : (orig !== null ? perFileAuto(orig) : null);
      return { name: c, originals: orig, train: num(x.train), val: num(x.val), test: num(x.test) !== null ? x.test : num(sup),
               per_file: k, augmented: num(x.training_examples), fresh: num(x.new_since_training) };
    });
  }
  function renderData() {
    var tb = $('table-data') ? $('table-data').querySelector('tbody') : null;
    if (!tb) return;
    var m = state.metrics || {}, rows = dataRows(m), s = function (v) { return v === null || v === undefined ? '–' : String(v); };
    clear(tb);
    rows.forEach(function (r) {
      var tr = document.createElement('tr');
      tr.setAttribute('data-class', r.name);
      [r.name, s(r.originals), s(r.train) + ' / ' + s(r.val) + ' / ' + s(r.test), s(r.per_file), s(r.augmented), s(r.fresh)]
        .forEach(function (v, j) { tr.appendChild(node('td', j ? 'num' : '', v)); });
      tb.appendChild(tr);
    });
    var note = $('data-note');
    if (note) note.textContent = (state.dataInfo ? '' : 'This server does not report recordings per class; the test column is the model\'s test support. ') +
      'Train and validation originals get augmented copies (the default: 10 per file below 50 originals in a class, 7 below 200, 5 below 500, else 3); the test split is never augmented.' +
      (mode === 'live' ? ' Uploaded from this page since it loaded: ' + state.uploaded + ' file(s).' : '');
  }

  /* ---------------- Predict ---------------- */
  var MAX_PICTURE_BYTES = 64 << 20, MAX_PICTURE_SECONDS = 600;
  function drawAudio(file) {
    ['fig-wave', 'fig-mel'].forEach(function (id) { $(id).hidden = true; });
    if (file.size > MAX_PICTURE_BYTES || typeof OfflineAudioContext === 'undefined') return Promise.resolve(null);
    return file.arrayBuffer().then(function (buf) {
      /* An offline context at 16 kHz decodes and resamples in one step, with no
       * audio output (so no autoplay policy applies). */
      var ctx = new OfflineAudioContext(1, 1, 16000);
      return ctx.decodeAudioData(buf);
    }).then(function (ab) {
      var n = Math.min(ab.length, MAX_PICTURE_SECONDS * ab.sampleRate);
      var mono = new Float32Array(n);
      for (var ch = 0; ch < ab.numberOfChannels; ch++) {
        var d = ab.getChannelData(ch);
        for (var i = 0; i < n; i++) mono[i] += d[i] / ab.numberOfChannels;
      }
      $('fig-wave').hidden = false; ES.waveform($('chart-wave'), mono, ab.sampleRate);
      var melN = Math.min(n, 60 * ab.sampleRate);
      $('fig-mel').hidden = false; ES.spectrogram($('chart-mel'), ES.logMel(mono.subarray(0, melN), ab.sampleRate, 64));
      return ab.length / ab.sampleRate;
    }).catch(function () {
      /* The browser cannot decode every format the server can: the server's
       * answer still stands, only the pictures are left out. */
      return null;
    });
  }
  function timelineEvents(r) {
    var t = r.timeline || r.events || null;
    if (t && !Array.isArray(t)) t = t.events || null;
    return Array.isArray(t) ? t.map(function (e) {
      return { start: num(pick(e, ['start', 'start_s', 'start_time'])), end: num(pick(e, ['end', 'end_s', 'end_time'])),
               'class': pick(e, ['class', 'predicted_class', 'label']), confidence: num(pick(e, ['confidence', 'mean_confidence', 'max_confidence', 'score'])) };
    }).filter(function (e) { return e.start !== null && e.end !== null && e['class']; }) : null;
  }
  function renderPrediction(r, seconds) {
    var out = $('predict-result'); clear(out);
    var box = node('div', 'result');
    box.appendChild(node('div', 'k', 'Predicted class'));
    var cls = node('div', 'cls', r.predicted_class); cls.id = 'predicted-class'; box.appendChild(cls);
    var conf = node('div', '', 'confidence ' + ES.pct(num(r.confidence)) +
      (num(r.processing_time) !== null ? ' · processed in ' + (1000 * r.processing_time).toFixed(0) + ' ms' : '') +
      (seconds ? ' · ' + seconds.toFixed(2) + ' s of audio' : ''));
    conf.id = 'predicted-confidence'; box.appendChild(conf);
    var probs = r.all_probabilities || {};
    var names = Object.keys(probs).sort(function (a, b) { return probs[b] - probs[a]; });
    var pb = node('div', ''); pb.id = 'chart-probs'; box.appendChild(pb);
    out.appendChild(box);
    ES.hbars(pb, { items: names.map(function (n) { return { name: n, value: probs[n], bold: n === r.predicted_class }; }), label: 'class probabilities' });
    var ev = timelineEvents(r), fig = $('fig-timeline');
    fig.hidden = !ev;
    if (ev) {
      var dur = (r.timeline && num(r.timeline.duration)) || num(r.duration) || num(r.duration_s) || seconds || ev.reduce(function (a, e) { return Math.max(a, e.end); }, 0);
      ES.timeline($('chart-timeline'), ev, dur, state.classes.length ? state.classes : names);
      var list = node('ul', ''); ev.forEach(function (e) {
        list.appendChild(node('li', '', e['class'] + ': ' + e.start.toFixed(1) + '–' + e.end.toFixed(1) + ' s' + (e.confidence !== null ? ' (' + ES.pct(e.confidence) + ')' : '')));
      });
      if (!ev.length) list.appendChild(node('li', 'muted', 'no events'));
      $('chart-timeline').appendChild(list);
    }
  }
  /* Choosing a file draws it at once; a recording longer than LONG_S turns the
   * event timeline on (unless the user set the box themselves). */
  var LONG_S = 8;
  function prepare(file) {
    if (state.prepared && state.prepared.file === file) return state.prepared.seconds;
    var p = drawAudio(file).then(function (seconds) {
      var box = $('predict-timeline');
      if (seconds && !box.dataset.touched) box.checked = seconds > LONG_S;
      return seconds;
    });
    state.prepared = { file: file, seconds: p };
    return p;
  }
  function predict(file) {
    var btn = $('predict-go'); btn.disabled = true;
    var out = $('predict-result'); clear(out); out.appendChild(node('p', 'muted', 'Predicting ' + file.name + '…'));
    var seconds = null;
    return prepare(file).then(function (s) {
      seconds = s;
      var fd = new FormData(); fd.append('file', file, file.name);
      return api('/predict' + ($('predict-timeline').checked ? '?timeline=1' : ''), { method: 'POST', body: fd });
    }).then(function (r) { renderPrediction(r, seconds); poll(); })
      .catch(function (e) { showErr('predict-result', e.message); })
      .then(function () { btn.disabled = false; });
  }

  /* ---------------- Upload ---------------- */
  function fillClassSelect(classes) {
    var s = $('upload-class'); if (!s) return;
    var cur = s.value; clear(s);
    classes.forEach(function (c) { var o = node('option', '', c); o.value = c; s.appendChild(o); });
    if (classes.indexOf(cur) >= 0) s.value = cur;
  }
  function upload(files, cls) {
    var list = $('upload-result'), btn = $('upload-go'); clear(list); btn.disabled = true;
    var seq = Promise.resolve();
    Array.prototype.forEach.call(files, function (f) {
      seq = seq.then(function () {
        var li = node('li', '', f.name + ': uploading…'); list.appendChild(li);
        var fd = new FormData(); fd.append('file', f, f.name); fd.append('class_name', cls);
        return api('/upload', { method: 'POST', body: fd, headers: authHeaders() }).then(function (r) {
          state.uploaded++;
          li.textContent = f.name + ': stored as ' + (r.file_path || '?') + ' (' + (r['class'] || cls) + ')' + (r.s3_uploaded ? ', uploaded to S3' : '');
          li.className = 'ok';
        }).catch(function (e) { li.textContent = f.name + ': ' + e.message; li.className = 'error'; });
      });
    });
    return seq.then(function () { btn.disabled = false; renderData(); });
  }

  /* ---------------- Retrain ---------------- */
  function rsField(s, keys) { return pick(s || {}, keys); }
  function retrainRunning(s) {
    var st = String(rsField(s, ['status', 'state']) || '').toLowerCase();
    if (s && s.running !== undefined) return !!s.running;
    return st === 'running' || st === 'in_progress' || st === 'started' || st === 'queued';
  }
  function renderRetrain(s, seen) {
    var stage = rsField(s, ['stage', 'current_stage']);
    var p = num(rsField(s, ['progress', 'fraction']));
    if (p !== null && p > 1) p = p / 100;
    if (p !== null && p < 0) p = null;   /* a stage without a measurable fraction */
    var failed = rsField(s, ['last_error', 'error']);
    if (!retrainRunning(s) && stage && !failed) p = 1;   /* finished: the bar is full */
    var bar = $('retrain-progress'); bar.hidden = false;
    bar.querySelector('.bar').style.width = (100 * (p || 0)).toFixed(1) + '%';
    var st = rsField(s, ['status', 'state']) || (retrainRunning(s) ? 'running' : 'idle');
    bar.querySelector('.label').textContent = st + (stage ? ' · ' + stage : '') + (p !== null ? ' · ' + (100 * p).toFixed(0) + ' %' : '');
    bar.setAttribute('data-status', st);
    if (stage && seen.indexOf(stage) < 0) seen.push(stage);
    var ol = $('retrain-stages'); clear(ol);
    seen.forEach(function (sg, i) {
      var done = i < seen.length - 1 || !retrainRunning(s);
      ol.appendChild(node('li', done ? 'done' : 'current', sg));
    });
    var msg = rsField(s, ['message']), err = failed;
    var box = $('retrain-status'); clear(box);
    if (msg) box.appendChild(node('p', '', String(msg)));
    if (err && !retrainRunning(s)) box.appendChild(node('p', 'error', String(err)));
  }
  function watchRetrain(before) {
    var seen = [];
    if (state.retrainPoll) clearInterval(state.retrainPoll);
    var finish = function (s) {
      clearInterval(state.retrainPoll); state.retrainPoll = null;
      $('retrain-go').disabled = false;
      /* Wait until the server serves the new version (the swap follows the run). */
      var tries = 0;
      var check = function () {
        poll().then(function () {
          var box = $('retrain-status');
          if (state.version && state.version !== before) {
            var p = node('p', 'ok', 'New version live: ' + state.version); p.id = 'retrain-done'; box.appendChild(p);
          } else if (++tries < 30 && !rsField(s, ['last_error', 'error'])) setTimeout(check, 1000);
          else { var q = node('p', 'muted', 'The run ended; the live version is still ' + state.version + '.'); q.id = 'retrain-done'; box.appendChild(q); }
        });
      };
      check();
    };
    var tick = function () {
      api('/retrain/status').then(function (s) {
        renderRetrain(s, seen);
        if (!retrainRunning(s)) finish(s);
      }).catch(function (e) { showErr('retrain-status', e.message); });
    };
    state.retrainPoll = setInterval(tick, 400);
    tick();
  }
  function retrain() {
    var btn = $('retrain-go'); btn.disabled = true;
    var before = state.version;
    var body = { trigger_reason: $('retrain-reason').value || 'dashboard', min_new_samples: +($('retrain-min').value || 0) };
    clear($('retrain-stages'));
    return api('/retrain', { method: 'POST', headers: authHeaders({ 'Content-Type': 'application/json' }), body: JSON.stringify(body) })
      .then(function (r) {
        var box = $('retrain-status'); clear(box); box.appendChild(node('p', '', (r && r.message) || 'started'));
        watchRetrain(before);
      }).catch(function (e) { showErr('retrain-status', e.message); btn.disabled = false; });
  }

  /* ---------------- Wiring ---------------- */
  function wire() {
    var fp = $('form-predict');
    if (fp) {
      fp.addEventListener('submit', function (ev) {
        ev.preventDefault();
        var f = $('predict-file').files[0];
        if (!f) { showErr('predict-result', 'choose an audio file first'); return; }
        predict(f);
      });
      $('predict-file').addEventListener('change', function () { var f = this.files[0]; if (f) prepare(f); });
      $('predict-timeline').addEventListener('change', function () { this.dataset.touched = '1'; });
      var drop = $('drop-predict');
      ['dragenter', 'dragover'].forEach(function (t) { drop.addEventListener(t, function (ev) { ev.preventDefault(); drop.classList.add('over'); }); });
      ['dragleave', 'drop'].forEach(function (t) { drop.addEventListener(t, function (ev) { ev.preventDefault(); drop.classList.remove('over'); }); });
      drop.addEventListener('drop', function (ev) { var f = ev.dataTransfer.files[0]; if (f) predict(f); });
    }
    var fu = $('form-upload');
    if (fu) fu.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var files = $('upload-files').files;
      if (!files.length) { clear($('upload-result')); $('upload-result').appendChild(node('li', 'error', 'choose one or more audio files first')); return; }
      upload(files, $('upload-class').value);
    });
    var fr = $('form-retrain');
    if (fr) fr.addEventListener('submit', function (ev) { ev.preventDefault(); retrain(); });
  }

  /* Charts take the width of their container: draw again when it changes. */
  var lastWidth = window.innerWidth, resizeTimer = null;
  window.addEventListener('resize', function () {
    if (window.innerWidth === lastWidth) return;
    lastWidth = window.innerWidth;
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      if (state.metrics) renderQuality(state.metrics);
      if (state.history) renderTraining(state.history);
    }, 200);
  });

  if (mode === 'report') {
    var data = JSON.parse($('es-report-data').textContent);
    state.classes = data.classes || (data.metadata && data.metadata.classes) || [];
    state.testAccuracy = data.metadata ? num(data.metadata.test_accuracy) : null;
    state.metadata = data.metadata || null;
    state.dataInfo = data.data || null;
    state.metrics = data.metrics;
    state.history = { has_history: !!data.history, training_history: data.history || {}, retraining_log: data.retraining_log };
    if (data.metrics) renderQuality(data.metrics);
    renderTraining(state.history);
    renderData();
  } else {
    wire();
    poll().then(function () {
      /* A retrain already running (started elsewhere) is shown too. */
      api('/retrain/status').then(function (s) { if (retrainRunning(s)) { $('retrain-go').disabled = true; watchRetrain(state.version); } }).catch(function () {});
    });
    setInterval(poll, 2000);
  }
})();
