/* app.js: the EcoSight dashboard. In live mode (served by `ecosight serve`)
 * it polls the JSON API; in report mode (`ecosight report`) it reads the
 * model's JSON embedded in the page. Every section renders only if its
 * elements exist, so the report can carry a subset of the page. */
'use strict';
(function () {
  var $ = function (id) { return document.getElementById(id); };
  var mode = document.body.getAttribute('data-mode') || 'live';
  var state = { version: null, classes: [], metrics: null, history: null };

  function setText(id, v) { var e = $(id); if (e) e.textContent = v; }
  function num(v) { return typeof v === 'number' && isFinite(v) ? v : null; }
  function duration(s) {
    s = Math.floor(num(s) || 0);
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    return (d ? d + ' d ' : '') + (d || h ? h + ' h ' : '') + m + ' min ' + (s % 60) + ' s';
  }
  function api(path, opts) {
    return fetch(path, opts).then(function (r) {
      return r.text().then(function (t) {
        var body = null;
        try { body = t ? JSON.parse(t) : null; } catch (e) { body = { detail: t }; }
        if (!r.ok) {
          var msg = body && body.detail ? (typeof body.detail === 'string' ? body.detail : JSON.stringify(body.detail)) : r.statusText;
          var err = new Error(r.status + ': ' + msg); err.status = r.status; throw err;
        }
        return body;
      });
    });
  }

  /* ---------------- Status ---------------- */
  function renderStatus(st) {
    setText('st-version', st.model_name || '–');
    setText('st-date', st.training_date || '–');
    setText('st-uptime', st.uptime !== undefined ? (typeof st.uptime === 'number' ? duration(st.uptime) : String(st.uptime)) : '–');
    setText('st-predictions', st.total_predictions !== undefined ? String(st.total_predictions) : '–');
    setText('st-accuracy', ES.pct(num(st.test_accuracy)));
    setText('st-classes', (st.classes || []).join(', ') + (st.num_classes !== undefined ? ' (' + st.num_classes + ')' : ''));
  }

  function poll() {
    api('/health').then(function (h) {
      var live = $('live');
      if (!h || !h.model_loaded) {
        live.className = 'live down'; live.textContent = 'server up, no model loaded';
        return null;
      }
      return api('/status').then(function (st) {
        renderStatus(st);
        live.className = 'live ok';
        live.textContent = 'live · updated ' + new Date().toLocaleTimeString();
        if (st.model_name !== state.version) {
          state.version = st.model_name;
          state.classes = st.classes || [];
          loadModel();
        }
      });
    }).catch(function (e) {
      var live = $('live'); live.className = 'live down'; live.textContent = 'server unreachable (' + e.message + ')';
    });
  }

  function loadModel() {
    api('/metrics').then(function (m) { state.metrics = m; renderQuality(m); }).catch(showErr('chart-prf'));
  }
  function showErr(id) {
    return function (e) { var c = $(id); if (c) { c.innerHTML = ''; var p = document.createElement('p'); p.className = 'error'; p.textContent = e.message; c.appendChild(p); } };
  }

  /* ---------------- Quality ---------------- */
  function classesOf(m) {
    if (m.classes) return m.classes;
    if (m.class_names) return m.class_names;
    if (m.per_class_metrics) return Object.keys(m.per_class_metrics);
    return state.classes;
  }
  function renderQuality(m) {
    var cls = classesOf(m);
    var acc = num(m.accuracy) !== null ? m.accuracy : num(m.test_accuracy);
    setText('q-accuracy', ES.pct(acc));
    setText('q-macro-f1', ES.fmt(num(m.macro_f1)));
    var series = [['precision', 'P', 'precision'], ['recall', 'R', 'recall'], ['f1_score', 'F1', 'F1']].map(function (k, i) {
      return { key: k[0], short: k[1], name: k[2], color: ES.COLORS[i],
               values: cls.map(function (c, ci) { return m[k[0]] ? m[k[0]][ci] : (m.per_class_metrics[c] || {})[k[0]]; }) };
    });
    if ($('chart-prf')) ES.bars($('chart-prf'), { categories: cls, series: series, yMax: 1, label: 'precision, recall and F1 per class' });
    if (m.confusion_matrix) {
      if ($('chart-cm')) ES.heatmap($('chart-cm'), { labels: cls, matrix: m.confusion_matrix, label: 'confusion matrix counts' });
      if ($('chart-cm-norm')) ES.heatmap($('chart-cm-norm'), { labels: cls, matrix: m.confusion_matrix, normalise: true, label: 'confusion matrix row-normalised' });
    }
  }

  if (mode === 'live') {
    poll();
    setInterval(poll, 2000);
  }
})();
