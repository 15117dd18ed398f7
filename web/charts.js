/* charts.js: small SVG chart helpers for the EcoSight dashboard and report.
 * No library: every chart is drawn from our own JSON. Each mark carries its
 * number as text (readable without colour) and as data-* attributes (what the
 * browser tests compare with the API). */
'use strict';
var ES = (function () {
  var NS = 'http://www.w3.org/2000/svg';
  var COLORS = ['#1f6f43', '#b35c00', '#2a5db0', '#8e2a8e', '#6b6b00', '#a32020'];
  var DASHES = ['', '6 3', '2 3', '8 3 2 3', '1 2', '10 4'];

  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    if (attrs) for (var k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function text(parent, x, y, s, attrs) {
    var t = el('text', Object.assign({ x: x, y: y }, attrs || {}), parent);
    t.textContent = s;
    return t;
  }
  function svg(container, w, h, label) {
    container.textContent = '';
    var s = el('svg', { viewBox: '0 0 ' + w + ' ' + h, role: 'img', 'aria-label': label || '' }, container);
    /* Scale down to fit narrow screens, but never blow text up past 1.3x. */
    s.style.maxWidth = Math.round(w * 1.1) + 'px';
    return s;
  }
  /* Width in SVG units: the container's CSS width (so 11px text stays 11px on a
   * phone), within [lo, hi]; `fixed` wins when given. */
  function widthOf(container, fixed, lo, hi) {
    if (fixed) return fixed;
    var w = container.clientWidth || 0;
    return Math.round(Math.max(lo, Math.min(hi, w || hi)));
  }
  function fmt(v, digits) {
    if (v === null || v === undefined || typeof v !== 'number' || !isFinite(v)) return '–';
    return v.toFixed(digits === undefined ? 3 : digits);
  }
  function pct(v) { return (typeof v === 'number' && isFinite(v)) ? (100 * v).toFixed(1) + ' %' : '–'; }
  function niceTicks(lo, hi, n) {
    if (!(hi > lo)) { hi = lo + 1; }
    var step = Math.pow(10, Math.floor(Math.log10((hi - lo) / n)));
    var err = (hi - lo) / n / step;
    if (err >= 7.5) step *= 10; else if (err >= 3.5) step *= 5; else if (err >= 1.5) step *= 2;
    var t = [], v = Math.ceil(lo / step) * step;
    for (; v <= hi + step * 1e-9; v += step) t.push(+v.toPrecision(12));
    return t;
  }
  function legend(container, items) {
    var d = document.createElement('div');
    d.className = 'legend';
    items.forEach(function (it, i) {
      var span = document.createElement('span');
      var sw = document.createElementNS(NS, 'svg');
      sw.setAttribute('class', 'sw'); sw.setAttribute('viewBox', '0 0 24 10');
      if (it.kind === 'bar') el('rect', { x: 0, y: 0, width: 24, height: 10, fill: it.color }, sw);
      else el('line', { x1: 0, y1: 5, x2: 24, y2: 5, stroke: it.color, 'stroke-width': 2.5, 'stroke-dasharray': it.dash || '' }, sw);
      span.appendChild(sw);
      span.appendChild(document.createTextNode(it.name));
      d.appendChild(span);
    });
    container.appendChild(d);
  }

  /* Grouped bars: categories along x, one bar per series; values in [0, yMax]. */
  function bars(container, o) {
    var cats = o.categories, series = o.series;
    var W = widthOf(container, o.width, 300, 900), H = o.height || 260, m = { l: 40, r: 10, t: 28, b: 44 };
    var s = svg(container, W, H, o.label);
    var yMax = o.yMax || Math.max.apply(null, series.map(function (se) { return Math.max.apply(null, se.values.concat([0])); })) || 1;
    var ph = H - m.t - m.b, pw = W - m.l - m.r;
    var y = function (v) { return m.t + ph - (v / yMax) * ph; };
    var g = el('g', { class: 'axis' }, s);
    niceTicks(0, yMax, 5).forEach(function (t) {
      el('line', { x1: m.l, x2: W - m.r, y1: y(t), y2: y(t) }, g);
      text(g, m.l - 4, y(t) + 4, o.tickFormat ? o.tickFormat(t) : String(t), { 'text-anchor': 'end' });
    });
    var gw = pw / cats.length, bw = Math.min(46, (gw * 0.8) / series.length);
    cats.forEach(function (c, ci) {
      var x0 = m.l + ci * gw + (gw - bw * series.length) / 2;
      series.forEach(function (se, si) {
        var v = se.values[ci], x = x0 + si * bw;
        var h = (typeof v === 'number' && isFinite(v)) ? Math.max(0, y(0) - y(v)) : 0;
        var r = el('rect', { x: x + 1, y: y(0) - h, width: bw - 2, height: h, fill: se.color || COLORS[si % COLORS.length],
          class: 'bar', 'data-category': c, 'data-series': se.key || se.name, 'data-value': v }, s);
        el('title', null, r).textContent = c + ' ' + se.name + ': ' + fmt(v, o.digits);
        /* Narrow bars (phones) get their value written upwards so labels never overlap. */
        var narrow = bw < 30, lx = x + bw / 2 + (narrow ? 3 : 0), ly = y(0) - h - 3;
        var lab = text(s, lx, ly, fmt(v, o.digits === undefined ? 2 : o.digits),
          { 'text-anchor': narrow ? 'start' : 'middle', class: 'val', transform: narrow ? 'rotate(-90 ' + lx + ' ' + ly + ')' : null });
        lab.setAttribute('data-category', c); lab.setAttribute('data-series', se.key || se.name);
        if (se.short) text(s, x + bw / 2, y(0) + 12, se.short, { 'text-anchor': 'middle', class: 'val' });
      });
      text(s, m.l + ci * gw + gw / 2, H - m.b + (series.some(function (z) { return z.short; }) ? 28 : 16), c,
        { 'text-anchor': 'middle' });
    });
    if (series.length > 1) legend(container, series.map(function (se, si) {
      return { name: (se.short ? se.short + ' = ' : '') + se.name, color: se.color || COLORS[si % COLORS.length], kind: 'bar' };
    }));
    return s;
  }

  /* Heatmap of a square matrix; normalise: divide each row by its sum. */
  function heatmap(container, o) {
    var labels = o.labels, M = o.matrix, n = labels.length;
    var m = { l: 110, t: 14, b: 70, r: 10 };
    var cell = Math.max(40, Math.min(64, Math.floor((widthOf(container, 0, 260, 600) - m.l - m.r) / n)));
    var W = m.l + n * cell + m.r, H = m.t + n * cell + m.b;
    var s = svg(container, W, H, o.label);
    var rows = M.map(function (row) {
      var sum = row.reduce(function (a, b) { return a + b; }, 0);
      return row.map(function (v) { return o.normalise ? (sum > 0 ? v / sum : 0) : v; });
    });
    var max = o.normalise ? 1 : Math.max.apply(null, [1].concat(rows.map(function (r) { return Math.max.apply(null, r); })));
    for (var i = 0; i < n; i++) {
      text(s, m.l - 6, m.t + i * cell + cell / 2 + 4, labels[i], { 'text-anchor': 'end' });
      for (var j = 0; j < n; j++) {
        var v = rows[i][j], a = max > 0 ? v / max : 0;
        var r = el('rect', { x: m.l + j * cell, y: m.t + i * cell, width: cell - 2, height: cell - 2,
          fill: 'rgba(31,111,67,' + (0.06 + 0.94 * a).toFixed(3) + ')', stroke: i === j ? '#1b1f23' : 'none',
          class: 'cell', 'data-row': labels[i], 'data-col': labels[j], 'data-value': v, 'data-count': M[i][j] }, s);
        el('title', null, r).textContent = 'true ' + labels[i] + ', predicted ' + labels[j] + ': ' + M[i][j];
        var label = o.normalise ? (100 * v).toFixed(0) + '%' : String(v);
        text(s, m.l + j * cell + cell / 2 - 1, m.t + i * cell + cell / 2 + 4, label,
          { 'text-anchor': 'middle', class: 'cell-text', 'data-row': labels[i], 'data-col': labels[j],
            style: 'fill:' + (a > 0.55 ? '#fff' : '#1b1f23') });
      }
    }
    for (var k = 0; k < n; k++) {
      var tx = m.l + k * cell + cell / 2, ty = m.t + n * cell + 8;
      text(s, tx, ty, labels[k], { 'text-anchor': 'end', transform: 'rotate(-35 ' + tx + ' ' + ty + ')' });
    }
    return s;
  }

  /* Lines: series [{name, x:[], y:[], dash, color}], optional log y, step. */
  function lines(container, o) {
    var W = widthOf(container, o.width, 300, 1000), H = o.height || 260, m = { l: 52, r: 12, t: 12, b: 36 };
    var s = svg(container, W, H, o.label);
    var xs = [], ys = [];
    o.series.forEach(function (se) {
      se.x.forEach(function (v) { if (isFinite(v)) xs.push(v); });
      se.y.forEach(function (v) { if (isFinite(v) && (!o.logY || v > 0)) ys.push(v); });
    });
    if (!xs.length || !ys.length) { container.textContent = 'no data'; return null; }
    var x0 = o.xMin !== undefined ? o.xMin : Math.min.apply(null, xs), x1 = o.xMax !== undefined ? o.xMax : Math.max.apply(null, xs);
    var y0 = o.yMin !== undefined ? o.yMin : Math.min.apply(null, ys), y1 = o.yMax !== undefined ? o.yMax : Math.max.apply(null, ys);
    if (x1 === x0) { x0 -= 1; x1 += 1; }   /* one point: centre it */
    var tf = o.logY ? Math.log10 : function (v) { return v; };
    if (o.logY) {
      if (y1 === y0) { y0 /= 3.2; y1 *= 3.2; }   /* a constant rate: keep it mid-chart */
      else { y0 = Math.pow(10, Math.floor(Math.log10(y0))); y1 = Math.pow(10, Math.ceil(Math.log10(y1))); }
    }
    else if (y1 === y0) { var d0 = 0.1 * Math.max(Math.abs(y0), 1e-3); y0 -= d0; y1 += d0; }
    else if (o.yMin === undefined) { var pad = (y1 - y0) * 0.05; y0 -= pad; y1 += pad; }
    var pw = W - m.l - m.r, ph = H - m.t - m.b;
    var X = function (v) { return m.l + (v - x0) / (x1 - x0) * pw; };
    var Y = function (v) { return m.t + ph - (tf(v) - tf(y0)) / (tf(y1) - tf(y0)) * ph; };
    var g = el('g', { class: 'axis' }, s);
    var yt = o.logY ? (function () { var t = [], e; for (e = Math.ceil(Math.log10(y0) - 1e-9); e <= Math.log10(y1) + 1e-9; e++) t.push(Math.pow(10, e)); return t; })() : niceTicks(y0, y1, 5);
    yt.forEach(function (t) {
      el('line', { x1: m.l, x2: W - m.r, y1: Y(t), y2: Y(t) }, g);
      text(g, m.l - 4, Y(t) + 4, o.logY ? t.toExponential(0) : String(+t.toPrecision(4)), { 'text-anchor': 'end' });
    });
    niceTicks(x0, x1, 8).forEach(function (t) {
      if (o.integerX && t !== Math.round(t)) return;
      text(g, X(t), H - m.b + 14, String(+t.toPrecision(4)), { 'text-anchor': 'middle' });
    });
    if (o.xLabel) text(g, m.l + pw / 2, H - 4, o.xLabel, { 'text-anchor': 'middle' });
    if (o.diagonal) el('line', { x1: X(0), y1: Y(0), x2: X(1), y2: Y(1), stroke: '#bbb', 'stroke-dasharray': '3 3' }, s);
    o.series.forEach(function (se, si) {
      var color = se.color || COLORS[si % COLORS.length], d = '', prev = null;
      for (var i = 0; i < se.x.length; i++) {
        var xv = se.x[i], yv = se.y[i];
        if (!isFinite(xv) || !isFinite(yv) || (o.logY && yv <= 0)) continue;
        if (prev === null) d += 'M' + X(xv).toFixed(1) + ' ' + Y(yv).toFixed(1);
        else if (o.step) d += 'H' + X(xv).toFixed(1) + 'V' + Y(yv).toFixed(1);
        else d += 'L' + X(xv).toFixed(1) + ' ' + Y(yv).toFixed(1);
        prev = i;
      }
      el('path', { d: d, fill: 'none', stroke: color, 'stroke-width': 2, 'stroke-dasharray': se.dash || DASHES[si % DASHES.length],
        class: 'series', 'data-series': se.key || se.name, 'data-values': JSON.stringify(se.y), 'data-x': JSON.stringify(se.x) }, s);
      if (o.points) se.x.forEach(function (xv, i) {
        var c = el('circle', { cx: X(xv), cy: Y(se.y[i]), r: 3.5, fill: color, class: 'point', 'data-series': se.key || se.name, 'data-value': se.y[i] }, s);
        el('title', null, c).textContent = se.name + ' ' + xv + ': ' + fmt(se.y[i], 4);
        if (o.pointLabels) text(s, X(xv), Y(se.y[i]) - 7, fmt(se.y[i], 3), { 'text-anchor': 'middle', class: 'val' });
      });
      if (o.endLabels && prev !== null) {
        text(s, X(se.x[prev]) - 2, Y(se.y[prev]) - 6, se.name + ' ' + fmt(se.y[prev], o.digits === undefined ? 3 : o.digits),
          { 'text-anchor': 'end', class: 'val' });
      }
    });
    legend(container, o.series.map(function (se, si) {
      return { name: se.name, color: se.color || COLORS[si % COLORS.length], dash: se.dash || DASHES[si % DASHES.length] };
    }));
    return s;
  }

  /* Horizontal probability bars with labels. */
  function hbars(container, o) {
    var items = o.items, rowH = 26, m = { l: 120, r: 70, t: 4, b: 4 }, W = widthOf(container, o.width, 300, 700);
    var H = m.t + m.b + rowH * items.length;
    var s = svg(container, W, H, o.label);
    var pw = W - m.l - m.r;
    items.forEach(function (it, i) {
      var yy = m.t + i * rowH;
      text(s, m.l - 6, yy + rowH / 2 + 4, it.name, { 'text-anchor': 'end', style: it.bold ? 'font-weight:700' : '' });
      el('rect', { x: m.l, y: yy + 4, width: pw, height: rowH - 8, fill: '#eef0f2' }, s);
      el('rect', { x: m.l, y: yy + 4, width: Math.max(0, Math.min(1, it.value)) * pw, height: rowH - 8,
        fill: it.bold ? COLORS[0] : '#8fa39a', class: 'bar', 'data-category': it.name, 'data-value': it.value }, s);
      text(s, m.l + pw + 6, yy + rowH / 2 + 4, pct(it.value), { class: 'val' });
    });
    return s;
  }

  /* ---- Audio pictures (predict panel) ---- */
  /* In-place iterative radix-2 FFT on re/im Float64Arrays (n a power of 2). */
  function fft(re, im) {
    var n = re.length, i, j, k;
    for (i = 1, j = 0; i < n; i++) {
      var bit = n >> 1;
      for (; j & bit; bit >>= 1) j ^= bit;
      j ^= bit;
      if (i < j) { var t = re[i]; re[i] = re[j]; re[j] = t; t = im[i]; im[i] = im[j]; im[j] = t; }
    }
    for (var len = 2; len <= n; len <<= 1) {
      var ang = -2 * Math.PI / len, wr = Math.cos(ang), wi = Math.sin(ang);
      for (i = 0; i < n; i += len) {
        var cr = 1, ci = 0;
        for (k = 0; k < len / 2; k++) {
          var a = i + k, b = a + len / 2;
          var xr = re[b] * cr - im[b] * ci, xi = re[b] * ci + im[b] * cr;
          re[b] = re[a] - xr; im[b] = im[a] - xi; re[a] += xr; im[a] += xi;
          var nr = cr * wr - ci * wi; ci = cr * wi + ci * wr; cr = nr;
        }
      }
    }
  }
  function hzToMel(f) { return 1127 * Math.log(1 + f / 700); }
  function melToHz(m) { return 700 * (Math.exp(m / 1127) - 1); }
  /* Log-mel spectrogram: frames x bands (YAMNet-like: 25 ms Hann, 10 ms hop,
   * 64 bands 125–7500 Hz clipped to Nyquist, log(mel + 0.001)). */
  function logMel(samples, rate, bands) {
    bands = bands || 64;
    var win = Math.round(0.025 * rate), hop = Math.round(0.010 * rate), nfft = 1;
    while (nfft < win) nfft <<= 1;
    var nframes = samples.length >= win ? 1 + Math.floor((samples.length - win) / hop) : 0;
    var fmax = Math.min(7500, rate / 2), fmin = Math.min(125, fmax / 4);
    var nb = nfft / 2 + 1, mlo = hzToMel(fmin), mhi = hzToMel(fmax), edges = [];
    for (var e = 0; e < bands + 2; e++) edges.push(melToHz(mlo + (mhi - mlo) * e / (bands + 1)));
    var hann = new Float64Array(win);
    for (var h = 0; h < win; h++) hann[h] = 0.5 - 0.5 * Math.cos(2 * Math.PI * h / win);
    var out = [], re = new Float64Array(nfft), im = new Float64Array(nfft);
    for (var f = 0; f < nframes; f++) {
      re.fill(0); im.fill(0);
      for (var i = 0; i < win; i++) re[i] = samples[f * hop + i] * hann[i];
      fft(re, im);
      var row = new Float32Array(bands);
      for (var bnd = 0; bnd < bands; bnd++) {
        var lo = edges[bnd], c = edges[bnd + 1], hi = edges[bnd + 2], acc = 0;
        for (var k = Math.floor(lo * nfft / rate); k <= Math.ceil(hi * nfft / rate) && k < nb; k++) {
          var fk = k * rate / nfft, wgt = fk < lo || fk > hi ? 0 : (fk <= c ? (fk - lo) / (c - lo) : (hi - fk) / (hi - c));
          if (wgt > 0) acc += wgt * Math.sqrt(re[k] * re[k] + im[k] * im[k]);
        }
        row[bnd] = Math.log(acc + 0.001);
      }
      out.push(row);
    }
    return { frames: out, hop: hop / rate, bands: bands, fmin: fmin, fmax: fmax };
  }
  function canvasIn(container, w, h, label) {
    container.textContent = '';
    var c = document.createElement('canvas');
    c.width = w; c.height = h; c.style.width = '100%'; c.style.height = 'auto'; c.style.maxWidth = w + 'px';
    c.setAttribute('role', 'img'); c.setAttribute('aria-label', label);
    container.appendChild(c);
    return c;
  }
  /* Waveform as min/max per pixel column. */
  function waveform(container, samples, rate) {
    var W = 800, H = 160, c = canvasIn(container, W, H, 'waveform');
    var g = c.getContext('2d');
    g.fillStyle = '#fff'; g.fillRect(0, 0, W, H);
    g.strokeStyle = '#d5d9de'; g.beginPath(); g.moveTo(0, H / 2); g.lineTo(W, H / 2); g.stroke();
    g.fillStyle = COLORS[0];
    var per = Math.max(1, Math.floor(samples.length / W));
    for (var x = 0; x < W; x++) {
      var lo = 1, hi = -1, st = Math.floor(x * samples.length / W);
      for (var i = st; i < st + per && i < samples.length; i++) { var v = samples[i]; if (v < lo) lo = v; if (v > hi) hi = v; }
      if (hi < lo) continue;
      g.fillRect(x, H / 2 - hi * H / 2, 1, Math.max(1, (hi - lo) * H / 2));
    }
    g.fillStyle = '#1b1f23'; g.font = '20px sans-serif';
    g.fillText((samples.length / rate).toFixed(2) + ' s, ' + rate + ' Hz', 6, 22);
    c.setAttribute('data-seconds', (samples.length / rate).toFixed(3));
  }
  function spectrogram(container, mel) {
    var frames = mel.frames, nf = frames.length, nb = mel.bands;
    var W = Math.max(1, Math.min(800, nf)), H = nb * 2;
    var c = canvasIn(container, W, H, 'log-mel spectrogram');
    if (!nf) return;
    var g = c.getContext('2d'), img = g.createImageData(W, H);
    var lo = Infinity, hi = -Infinity;
    frames.forEach(function (r) { for (var b = 0; b < nb; b++) { if (r[b] < lo) lo = r[b]; if (r[b] > hi) hi = r[b]; } });
    for (var x = 0; x < W; x++) {
      var r = frames[Math.floor(x * nf / W)];
      for (var y = 0; y < H; y++) {
        var b = nb - 1 - Math.floor(y / 2), v = hi > lo ? (r[b] - lo) / (hi - lo) : 0;
        var p = 4 * (y * W + x), gray = Math.round(255 * (1 - v));
        img.data[p] = gray; img.data[p + 1] = Math.round(255 - v * 150); img.data[p + 2] = gray; img.data[p + 3] = 255;
      }
    }
    g.putImageData(img, 0, 0);
    c.setAttribute('data-frames', nf);
  }
  /* Event timeline: events [{start, end, class, confidence}] over duration. */
  function timeline(container, events, duration, classes) {
    var W = widthOf(container, 0, 300, 1000), rowH = 24, m = { l: 110, r: 10, t: 6, b: 26 }, H = m.t + m.b + rowH * classes.length;
    var s = svg(container, W, H, 'event timeline');
    var pw = W - m.l - m.r, X = function (t) { return m.l + t / (duration || 1) * pw; };
    classes.forEach(function (c, i) { text(s, m.l - 6, m.t + i * rowH + rowH / 2 + 4, c, { 'text-anchor': 'end' }); });
    niceTicks(0, duration || 1, 8).forEach(function (t) { text(s, X(t), H - 8, t + ' s', { 'text-anchor': 'middle', class: 'val' }); });
    events.forEach(function (ev) {
      var i = classes.indexOf(ev['class']); if (i < 0) return;
      var r = el('rect', { x: X(ev.start), y: m.t + i * rowH + 3, width: Math.max(2, X(ev.end) - X(ev.start)), height: rowH - 6,
        fill: COLORS[i % COLORS.length], class: 'event', 'data-class': ev['class'], 'data-start': ev.start, 'data-end': ev.end }, s);
      el('title', null, r).textContent = ev['class'] + ' ' + ev.start + '–' + ev.end + ' s';
    });
    return s;
  }

  return { bars: bars, heatmap: heatmap, lines: lines, hbars: hbars, fmt: fmt, pct: pct, fft: fft,
           logMel: logMel, waveform: waveform, spectrogram: spectrogram, timeline: timeline, COLORS: COLORS };
})();
