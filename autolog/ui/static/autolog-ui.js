/* autolog ui: the page behaviour. Plain JavaScript, no build step, no network access
 * beyond this server. Each part looks for its elements and does nothing without them:
 * charts (uPlot), the overlay picker, the runs tree and column chooser, saved views,
 * the sweep views, live refresh of a RUNNING run. User text is only ever set with
 * textContent or as an attribute value, never parsed as HTML. */
(function () {
  'use strict';

  var $ = function (sel, root) { return (root || document).querySelector(sel); };
  var $$ = function (sel, root) {
    return Array.prototype.slice.call((root || document).querySelectorAll(sel));
  };
  var enc = encodeURIComponent;
  var PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9',
    '#000000', '#8E6C00', '#4E79A7', '#F28E2B', '#59A14F', '#B07AA1'];
  var DASHES = [[], [6, 4], [2, 3], [8, 3, 2, 3]];

  function setQuery(name, value) {
    var url = new URL(location.href);
    if (value === null || value === '') { url.searchParams.delete(name); }
    else { url.searchParams.set(name, value); }
    history.replaceState(null, '', url.pathname + url.search + url.hash);
  }

  // -- small pieces ----------------------------------------------------------------

  function selectAll() {
    var all = $('#select-all');
    if (!all) { return; }
    all.addEventListener('change', function () {
      $$('input[name=runs]').forEach(function (c) {
        if (!c.closest('tr') || !c.closest('tr').hidden) { c.checked = all.checked; }
      });
    });
  }

  function onlyDifferences() {
    var box = $('#only-diff');
    if (!box) { return; }
    box.addEventListener('change', function () {
      $$('tr.same').forEach(function (r) { r.style.display = box.checked ? 'none' : ''; });
    });
  }

  function filterList(input, items, text) {
    input.addEventListener('input', function () {
      var q = input.value.toLowerCase();
      items().forEach(function (el) { el.hidden = q && text(el).indexOf(q) < 0; });
    });
  }

  // -- runs tree, column chooser, saved views ------------------------------------------

  function runsTree() {
    var table = $('table.runs');
    if (!table) { return; }
    function rowsUnder(id) { return $$('tr[data-parent="' + CSS.escape(id) + '"]', table); }
    function setOpen(row, open) {
      var button = $('button.toggle', row);
      if (button) {
        button.setAttribute('aria-expanded', String(open));
        button.textContent = open ? '\u25be' : '\u25b8';
      }
      rowsUnder(row.dataset.run).forEach(function (child) {
        child.hidden = !open;
        var b = $('button.toggle', child);
        if (!open || (b && b.getAttribute('aria-expanded') === 'true')) {
          setOpen(child, open && b && b.getAttribute('aria-expanded') === 'true');
        }
      });
    }
    function saveOpen() {
      var ids = $$('button.toggle[aria-expanded=true]', table).map(function (b) {
        return b.closest('tr').dataset.run;
      });
      var all = $$('button.toggle', table).length;
      var value = ids.length && ids.length === all ? 'all' : ids.join(',');
      setQuery('open', value);
      // sorting, paging and the column chooser keep the rows that are open
      $$('a.sort, .pager a').forEach(function (a) {
        var url = new URL(a.href);
        if (value) { url.searchParams.set('open', value); } else { url.searchParams.delete('open'); }
        a.href = url.pathname + url.search;
      });
      $$('form.filter, form.column-chooser').forEach(function (form) {
        var input = $('input[name=open]', form);
        if (!input) {
          input = document.createElement('input');
          input.type = 'hidden'; input.name = 'open';
          form.appendChild(input);
        }
        input.value = value;
        input.disabled = !value;
      });
    }
    // Folded rows are not in the page: the first expansion asks the server for them.
    function fetchRows(row) {
      var url = new URL(table.dataset.rows, location.href), here = new URL(location.href);
      url.searchParams.set('parent', row.dataset.run);
      ['filter', 'order_by'].forEach(function (name) {
        if (here.searchParams.get(name)) { url.searchParams.set(name, here.searchParams.get(name)); }
      });
      JSON.parse(table.dataset.params || '[]').forEach(function (k) { url.searchParams.append('params', k); });
      JSON.parse(table.dataset.metrics || '[]').forEach(function (k) { url.searchParams.append('metrics', k); });
      return fetch(url.pathname + url.search, {cache: 'no-store'}).then(function (r) {
        if (!r.ok) { throw new Error('rows: ' + r.status); }
        return r.text();
      }).then(function (html) {
        var holder = document.createElement('tbody');
        holder.innerHTML = html; // this server's own escaped rows
        var after = row;
        Array.prototype.slice.call(holder.children).forEach(function (tr) {
          after.after(tr); after = tr;
        });
      });
    }
    table.addEventListener('click', function (event) {
      var button = event.target.closest('button.toggle');
      if (!button) { return; }
      var row = button.closest('tr');
      var open = button.getAttribute('aria-expanded') !== 'true';
      var ready = open && !rowsUnder(row.dataset.run).length ? fetchRows(row) : Promise.resolve();
      ready.then(function () {
        setOpen(row, open);
        saveOpen();
        table.dataset.loaded = String(Number(table.dataset.loaded || 0) + 1);
      });
    });
    var expand = $('#expand-all'), collapse = $('#collapse-all');
    if (expand) {
      expand.addEventListener('click', function () {
        setQuery('open', 'all');
        location.reload(); // the server sends every row of an open=all page
      });
    }
    if (collapse) {
      collapse.addEventListener('click', function () {
        $$('tr[data-parent]', table).forEach(function (r) { r.hidden = true; });
        $$('button.toggle', table).forEach(function (b) {
          b.setAttribute('aria-expanded', 'false'); b.textContent = '\u25b8';
        });
        setQuery('open', null);
      });
    }
  }

  function columnChooser() {
    var input = $('.column-filter');
    if (!input) { return; }
    filterList(input, function () { return $$('.column-chooser label'); },
      function (el) { return el.textContent.toLowerCase(); });
  }

  function savedViews() {
    var holder = $('#saved-views'), button = $('#save-view');
    if (!holder || !button) { return; }
    var storeKey = 'autolog-ui-views:' + location.pathname;
    function load() {
      try { return JSON.parse(localStorage.getItem(storeKey) || '[]'); } catch (e) { return []; }
    }
    function render() {
      holder.textContent = '';
      load().forEach(function (view, i) {
        var a = document.createElement('a');
        a.href = view.url; a.textContent = view.name; a.className = 'saved-view';
        var x = document.createElement('button');
        x.type = 'button'; x.textContent = '\u00d7'; x.title = 'forget this view';
        x.className = 'forget';
        x.addEventListener('click', function () {
          var views = load(); views.splice(i, 1);
          localStorage.setItem(storeKey, JSON.stringify(views)); render();
        });
        holder.appendChild(a); holder.appendChild(x);
      });
    }
    button.addEventListener('click', function () {
      var input = document.createElement('input');
      input.type = 'text'; input.placeholder = 'name this view, Enter';
      input.className = 'view-name';
      button.replaceWith(input); input.focus();
      input.addEventListener('keydown', function (event) {
        if (event.key !== 'Enter') { return; }
        event.preventDefault();
        var views = load();
        views.push({name: input.value || 'view ' + (views.length + 1),
          url: location.pathname + location.search});
        localStorage.setItem(storeKey, JSON.stringify(views));
        input.replaceWith(button); render();
      });
    });
    render();
  }

  // -- charts ------------------------------------------------------------------------

  var charts = [];
  var state = {x: null, log: false, smooth: 0};

  function ema(ys, weight) {
    if (!weight) { return ys; }
    var out = new Array(ys.length), last = 0, n = 0;
    for (var i = 0; i < ys.length; i++) {
      var y = ys[i];
      if (y === null || y === undefined) { out[i] = null; continue; }
      n += 1;
      last = last * weight + (1 - weight) * y;
      out[i] = last / (1 - Math.pow(weight, n)); // debiased, as TensorBoard does
    }
    return out;
  }

  function fmtDuration(s) {
    if (Math.abs(s) < 120) { return +s.toFixed(1) + 's'; }
    if (Math.abs(s) < 7200) { return +(s / 60).toFixed(1) + 'm'; }
    return +(s / 3600).toFixed(1) + 'h';
  }

  function chartHeight(el) {
    var box = el.closest('.chart-box');
    if (box && box.classList.contains('large')) { return 440; }
    if (box && box.classList.contains('small')) { return 180; }
    return 230;
  }

  function loadChart(c) {
    var width = Math.max(el_width(c.el), 200);
    var query = 'x=' + c.x + '&points=' + Math.min(Math.round(width * 2), 4000);
    if (c.zoom) { query += '&min=' + c.zoom[0] + '&max=' + c.zoom[1]; }
    c.el.dataset.state = 'loading';
    var seq = c.seq = (c.seq || 0) + 1; // only the latest request draws (zoom vs refresh)
    return Promise.all(c.series.map(function (s) {
      return fetch('/api/runs/' + enc(s.run) + '/metrics/' + enc(s.key) + '?' + query,
        {cache: 'no-store'})
        .then(function (r) { return r.ok ? r.json() : null; })
        .catch(function () { return null; });
    })).then(function (results) {
      if (seq !== c.seq) { return; }
      c.results = results;
      draw(c);
    });
  }

  function el_width(el) { return el.clientWidth || el.parentNode.clientWidth || 480; }

  function draw(c) {
    var results = c.results, el = c.el;
    var drawn = [], tables = [], raws = [];
    var positive = function (ys) {
      return state.log ? ys.map(function (y) { return y > 0 ? y : null; }) : ys;
    };
    results.forEach(function (r, i) {
      if (!r || !r.x.length) { return; }
      drawn.push({spec: c.series[i], result: r});
      tables.push([r.x, positive(ema(r.y, state.smooth))]);
      raws.push([r.x, positive(r.y)]);
    });
    // smoothed, the raw values stay behind each curve, faint (as TensorBoard and W&B show)
    if (state.smooth) { tables = tables.concat(raws); }
    var note = $('.chart-note', el.closest('.chart-box') || el.parentNode);
    var box = el.closest('.chart-box');
    var total = drawn.reduce(function (a, d) { return a + d.result.total; }, 0);
    if (!drawn.length || (c.hideSingle && total <= drawn.length)) {
      if (c.u) { c.u.destroy(); c.u = null; }
      if (box && c.hideSingle) {
        box.hidden = true;
        var group = box.parentNode, heading = group.previousElementSibling;
        if (heading && heading.tagName === 'H3' && $$('.chart-box', group).every(function (b) {
          return b.hidden; })) { heading.hidden = true; }
        var section = box.closest('.chart-section');
        if (section && $$('.chart-box', section).every(function (b) { return b.hidden; })) {
          section.hidden = true;
        }
      }
      el.dataset.state = 'empty';
      return;
    }
    if (box && box.hidden) { // a live run's chart that now has a curve
      box.hidden = false;
      var section = box.closest('.chart-section'), group = box.parentNode;
      if (section) { section.hidden = false; }
      if (group.previousElementSibling && group.previousElementSibling.tagName === 'H3') {
        group.previousElementSibling.hidden = false;
      }
    }
    var data = tables.length === 1 ? tables[0] : uPlot.join(tables);
    var shown = drawn.reduce(function (a, d) { return a + d.result.x.length; }, 0);
    var inRange = drawn.reduce(function (a, d) { return a + d.result.in_range; }, 0);
    if (note) {
      note.textContent = shown < inRange
        ? shown + ' of ' + inRange + ' points drawn (zoom in for exact values)'
        : inRange + ' points' + (c.zoom ? ' in range (exact)' : '');
    }
    var key = [c.x, state.log, !!state.smooth, drawn.map(function (d) {
      return d.spec.run + '/' + d.spec.key; }).join(',')].join('|');
    if (c.u && c.key === key) {
      c.u.setData(data, !c.zoom);
    } else {
      if (c.u) { c.u.destroy(); }
      c.key = key;
      c.u = new uPlot(options(c, drawn), data, el);
      if (state.smooth) { // the faint raw curves need no legend rows of their own
        $$('.u-legend .u-series', c.u.root).forEach(function (row, i) {
          if (i > drawn.length) { row.hidden = true; }
        });
      }
    }
    if (c.zoom) { c.u.setScale('x', {min: c.zoom[0], max: c.zoom[1]}); }
    el.dataset.state = 'ready';
    el.dataset.points = String(shown);
    el.dataset.exact = String(shown >= inRange);
  }

  function options(c, drawn) {
    var xMode = c.x;
    var few = drawn.every(function (d) { return d.result.x.length < 60; });
    var series = [{label: {step: 'step', time: 'time', relative: 'time since start'}[xMode],
      value: xMode === 'relative' ? function (u, v) { return v === null ? '' : fmtDuration(v); }
        : undefined}];
    drawn.forEach(function (d) {
      series.push({
        label: d.spec.label,
        stroke: PALETTE[d.spec.color % PALETTE.length],
        dash: DASHES[d.spec.dash % DASHES.length],
        width: 1.5,
        spanGaps: true,
        points: {show: few, size: 4},
        value: function (u, v) { return v === null || v === undefined ? '' : +v.toPrecision(6); }
      });
    });
    if (state.smooth) {
      drawn.forEach(function (d) {
        series.push({label: d.spec.label + ' (raw)', width: 1, spanGaps: true,
          stroke: PALETTE[d.spec.color % PALETTE.length] + '40', points: {show: false},
          dash: DASHES[d.spec.dash % DASHES.length]});
      });
    }
    var xAxis = {};
    if (xMode === 'relative') {
      xAxis.values = function (u, vals) { return vals.map(fmtDuration); };
    }
    return {
      width: el_width(c.el),
      height: chartHeight(c.el),
      series: series,
      scales: {x: {time: xMode === 'time'}, y: {distr: state.log ? 3 : 1}},
      axes: [xAxis, {size: 60}],
      legend: {live: true},
      cursor: {
        drag: {x: true, y: false, setScale: false},
        bind: {
          dblclick: function () {
            return function () { c.zoom = null; loadChart(c); return null; };
          }
        }
      },
      hooks: {
        setSelect: [function (u) {
          if (u.select.width < 5) { return; }
          var lo = u.posToVal(u.select.left, 'x');
          var hi = u.posToVal(u.select.left + u.select.width, 'x');
          u.setSelect({left: 0, top: 0, width: 0, height: 0}, false);
          c.zoom = [lo, hi];
          loadChart(c);
        }]
      }
    };
  }

  function makeCharts() {
    var els = $$('.lchart');
    if (!els.length || typeof uPlot === 'undefined') { return; }
    var xSelect = $('#chart-x');
    state.x = xSelect ? xSelect.value : 'step';
    els.forEach(function (el) {
      var c = {el: el, series: JSON.parse(el.dataset.series || '[]'), zoom: null, u: null,
        hideSingle: !el.closest('.chart-box').classList.contains('large'),
        // a chart keeps its own x axis (system metrics: time since start) until the
        // toolbar sets one for all
        x: el.dataset.x || state.x};
      charts.push(c);
    });
    charts.forEach(function (c) { loadChart(c); });
    if (xSelect) {
      xSelect.addEventListener('change', function () {
        state.x = xSelect.value;
        setQuery('x', state.x === 'step' ? null : state.x);
        charts.forEach(function (c) { c.x = state.x; c.zoom = null; loadChart(c); });
      });
    }
    var log = $('#chart-log');
    if (log) {
      log.addEventListener('change', function () {
        state.log = log.checked;
        charts.forEach(function (c) { if (c.results) { draw(c); } });
      });
    }
    var smooth = $('#chart-smooth'), shown = $('#chart-smooth-value');
    if (smooth) {
      smooth.addEventListener('input', function () {
        state.smooth = parseFloat(smooth.value) || 0;
        if (shown) { shown.textContent = smooth.value; }
        charts.forEach(function (c) { if (c.results) { draw(c); } });
      });
    }
    var resizeTimer = null;
    window.addEventListener('resize', function () {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(function () {
        charts.forEach(function (c) {
          if (c.u) { c.u.setSize({width: el_width(c.el), height: chartHeight(c.el)}); }
        });
      }, 150);
    });
  }

  // The metric page: the picker chooses which runs the chart overlays.
  function overlayPicker() {
    var picker = $('form.picker');
    var layout = $('.metric-layout');
    if (!picker || !layout || !charts.length) { return; }
    var c = charts[0];
    var mainRun = layout.dataset.run, mainLabel = layout.dataset.label;
    var keys = JSON.parse(layout.dataset.keys || '[]');
    var labels = {};
    $$('label[data-label]', picker).forEach(function (l) {
      labels[$('input', l).value] = l.dataset.label;
    });
    filterList($('.picker-filter', picker), function () { return $$('.picker-list label', picker); },
      function (el) { return el.dataset.name || ''; });
    picker.addEventListener('change', function (event) {
      if (!event.target.matches('input[name=runs]')) { return; }
      var chosen = $$('input[name=runs]:checked', picker).map(function (b) { return b.value; });
      var runs = [mainRun].concat(chosen);
      var series = [];
      runs.forEach(function (run, i) {
        keys.forEach(function (key, j) {
          var name = i === 0 ? mainLabel : labels[run];
          if (runs.length === 1) { name = key; }
          else if (keys.length > 1) { name = name + ' \u00b7 ' + key; }
          series.push({run: run, key: key, label: name,
            color: runs.length > 1 ? i : j, dash: runs.length > 1 ? j : 0});
        });
      });
      c.series = series;
      setQuery('runs', chosen.join(','));
      loadChart(c);
    });
  }

  // The run page: a file clicked in the artifact tree is previewed beside it.
  function artifactPreview() {
    var tree = $('#artifacts'), panel = $('#artifact-preview');
    if (!tree || !panel) { return; }
    tree.addEventListener('click', function (event) {
      var link = event.target.closest('a.file');
      if (!link || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
      event.preventDefault();
      $$('tr.selected', tree).forEach(function (r) { r.classList.remove('selected'); });
      link.closest('tr').classList.add('selected');
      fetch(link.getAttribute('href') + '?fragment=1', {cache: 'no-store'})
        .then(function (r) {
          if (!r.ok) { throw new Error('preview: ' + r.status); }
          return r.text();
        })
        .then(function (html) {
          panel.innerHTML = html; // this server's own escaped preview
          panel.hidden = false;
        })
        .catch(function () { location.href = link.getAttribute('href'); });
    });
  }

  // -- live refresh of a RUNNING run ------------------------------------------------------

  function livePolling() {
    var body = document.body, url = body.getAttribute('data-poll');
    if (!url) { return; }
    var timer = setInterval(function () {
      fetch(url, {cache: 'no-store'}).then(function (r) { return r.json(); }).then(function (d) {
        if (d.version === body.getAttribute('data-version')) { return; }
        body.setAttribute('data-version', d.version);
        var cells = $$('td[data-metric]');
        var known = cells.map(function (td) { return td.dataset.metric; });
        var fresh = Object.keys(d.metrics).filter(function (k) { return known.indexOf(k) < 0; });
        if (cells.length && fresh.length) { location.reload(); return; }
        cells.forEach(function (td) {
          var v = d.metrics[td.dataset.metric];
          if (v !== undefined) { td.textContent = typeof v === 'number' ? +v.toPrecision(6) : v; }
        });
        var status = $('#run-status .status');
        if (status) { status.textContent = d.status; status.className = 'status status-' + d.status; }
        charts.forEach(function (c) { loadChart(c); });
        body.setAttribute('data-refreshed', String(Number(body.getAttribute('data-refreshed') || 0) + 1));
        if (d.status !== 'RUNNING') { clearInterval(timer); }
      }).catch(function () {});
    }, Number(body.getAttribute('data-poll-ms')) || 2000);
  }

  // -- sweeps ----------------------------------------------------------------------------

  var SVG = 'http://www.w3.org/2000/svg';
  function svgEl(name, attrs, parent) {
    var el = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    if (parent) { parent.appendChild(el); }
    return el;
  }
  function svgText(parent, x, y, text, anchor) {
    var t = svgEl('text', {x: x, y: y, 'text-anchor': anchor || 'middle'}, parent);
    t.textContent = text;
    return t;
  }

  // A scale for one axis: numbers linear (log when they span >2 decades, all > 0),
  // strings as evenly spaced categories.
  function axisScale(values, numeric, forceLog) {
    var present = values.filter(function (v) { return v !== undefined && v !== null; });
    if (!numeric) {
      var cats = present.map(String).filter(function (v, i, a) { return a.indexOf(v) === i; }).sort();
      return {cats: cats, pos: function (v) {
        var i = cats.indexOf(String(v));
        return cats.length < 2 ? 0.5 : i / (cats.length - 1);
      }, ticks: cats.map(function (c, i) { return [cats.length < 2 ? 0.5 : i / (cats.length - 1), c]; })};
    }
    if (!present.length) { return {pos: function () { return 0.5; }, ticks: []}; }
    var lo = Math.min.apply(null, present), hi = Math.max.apply(null, present);
    var log = lo > 0 && (forceLog || (forceLog === undefined && hi / lo > 100));
    var f = log ? Math.log10 : function (v) { return v; };
    var a = f(lo), b = f(hi);
    var pos = function (v) { return b === a ? 0.5 : (f(v) - a) / (b - a); };
    var distinct = present.filter(function (v, i, arr) { return arr.indexOf(v) === i; });
    var ticks = distinct.length <= 8 // a grid's few values: tick each of them
      ? distinct.map(function (v) { return [pos(v), +v.toPrecision(3)]; })
      : [0, 0.25, 0.5, 0.75, 1].map(function (t) {
        var v = log ? Math.pow(10, a + t * (b - a)) : a + t * (b - a);
        return [t, +v.toPrecision(3)];
      });
    return {pos: pos, ticks: ticks, log: log};
  }

  function colorFor(t) { // blue (low) to orange (high), t in [0, 1]
    var from = [33, 102, 172], mid = [190, 190, 190], to = [230, 97, 1];
    var a = t < 0.5 ? from : mid, b = t < 0.5 ? mid : to, u = t < 0.5 ? t * 2 : (t - 0.5) * 2;
    return 'rgb(' + a.map(function (v, i) { return Math.round(v + (b[i] - v) * u); }).join(',') + ')';
  }

  function parallel(data, metric) {
    var holder = $('#parallel');
    holder.textContent = '';
    var axes = data.params.concat([metric]);
    var width = Math.max(holder.clientWidth - 20, 160 * axes.length), height = 380;
    var top = 40, bottom = 30, left = 60, right = 60;
    var svg = svgEl('svg', {width: width, height: height, role: 'img',
      'aria-label': 'parallel coordinates'}, holder);
    var step = (width - left - right) / Math.max(axes.length - 1, 1);
    var scales = axes.map(function (name, i) {
      var isMetric = i === axes.length - 1;
      var values = data.rows.map(function (r) { return isMetric ? r.metrics[name] : r.params[name]; });
      return axisScale(values, isMetric || data.numeric[name]);
    });
    var metricScale = scales[scales.length - 1];
    var yOf = function (t) { return top + (1 - t) * (height - top - bottom); };
    var lines = svgEl('g', {'class': 'lines'}, svg);
    var rows = data.rows.slice().sort(function (a, b) {
      return (a.metrics[metric] === undefined ? -1 : 1) - (b.metrics[metric] === undefined ? -1 : 1);
    });
    var drawnLines = [];
    rows.forEach(function (row) {
      var pts = [], positions = [];
      axes.forEach(function (name, i) {
        var v = i === axes.length - 1 ? row.metrics[name] : row.params[name];
        positions.push(v === undefined ? null : scales[i].pos(v));
        if (v !== undefined) { pts.push((left + i * step).toFixed(1) + ',' + yOf(scales[i].pos(v)).toFixed(1)); }
      });
      var m = row.metrics[metric];
      var a = svgEl('a', {href: '/runs/' + enc(row.id)}, lines);
      var line = svgEl('polyline', {points: pts.join(' '), fill: 'none', 'class': 'run-line',
        'data-run': row.id, stroke: m === undefined ? '#d0d7de' : colorFor(metricScale.pos(m)),
        'stroke-width': 1.5, 'stroke-opacity': 0.8}, a);
      var title = svgEl('title', {}, line);
      title.textContent = row.name + (m === undefined ? '' : ': ' + metric + ' = ' + m);
      drawnLines.push({line: line, positions: positions, row: row});
    });
    var brushes = {};
    function applyBrushes() {
      var chosen = [];
      drawnLines.forEach(function (d) {
        var inside = Object.keys(brushes).every(function (i) {
          var t = d.positions[i], b = brushes[i];
          return t !== null && t >= b[0] - 1e-9 && t <= b[1] + 1e-9;
        });
        d.line.classList.toggle('dim', !inside);
        if (inside) { chosen.push(d.row); }
      });
      var note = $('#sweep-selection');
      if (!note) { return; }
      note.textContent = '';
      if (!Object.keys(brushes).length) {
        note.textContent = 'Drag along an axis to keep only the runs in that range.';
        return;
      }
      note.appendChild(document.createTextNode(chosen.length + ' of ' + drawnLines.length +
        ' runs in the brushed ranges. '));
      if (chosen.length) {
        var a = document.createElement('a');
        a.href = '/compare?runs=' + chosen.slice(0, 20).map(function (r) { return enc(r.id); }).join(',');
        a.textContent = 'Compare ' + (chosen.length > 20 ? 'the first 20' : 'these');
        a.id = 'compare-brushed';
        note.appendChild(a);
      }
    }
    axes.forEach(function (name, i) {
      var g = svgEl('g', {'class': 'axis'}, svg);
      var x = left + i * step;
      svgEl('line', {x1: x, x2: x, y1: top, y2: height - bottom, stroke: '#8c959f'}, g);
      var label = svgText(g, x, top - 22, name + (scales[i].log ? ' (log)' : ''));
      label.setAttribute('font-weight', i === axes.length - 1 ? '700' : '600');
      scales[i].ticks.forEach(function (t) {
        svgEl('line', {x1: x - 3, x2: x + 3, y1: yOf(t[0]), y2: yOf(t[0]), stroke: '#8c959f'}, g);
        svgText(g, x - 6, yOf(t[0]) + 4, String(t[1]).slice(0, 18), 'end');
      });
      var brush = svgEl('rect', {x: x - 9, width: 18, y: top, height: 0, 'class': 'brush',
        fill: 'rgba(9,105,218,0.18)', stroke: '#0969da'}, g);
      var grip = svgEl('rect', {x: x - 12, width: 24, y: top - 4, height: height - top - bottom + 8,
        fill: 'transparent', 'class': 'axis-grip', 'data-axis': name, cursor: 'crosshair'}, g);
      grip.addEventListener('pointerdown', function (event) {
        event.preventDefault();
        var box = svg.getBoundingClientRect(), y0 = event.clientY - box.top;
        grip.setPointerCapture(event.pointerId);
        function move(e) {
          var y1 = Math.min(Math.max(e.clientY - box.top, top), height - bottom);
          brush.setAttribute('y', Math.min(y0, y1));
          brush.setAttribute('height', Math.abs(y1 - y0));
        }
        function up(e) {
          grip.removeEventListener('pointermove', move);
          grip.removeEventListener('pointerup', up);
          var y1 = Math.min(Math.max(e.clientY - box.top, top), height - bottom);
          if (Math.abs(y1 - y0) < 3) { // a click clears this axis
            delete brushes[i];
            brush.setAttribute('height', 0);
          } else {
            var tOf = function (y) { return 1 - (y - top) / (height - top - bottom); };
            brushes[i] = [tOf(Math.max(y0, y1)), tOf(Math.min(y0, y1))];
          }
          applyBrushes();
        }
        grip.addEventListener('pointermove', move);
        grip.addEventListener('pointerup', up);
      });
    });
    applyBrushes();
  }

  function scatter(data, param, metric, logX) {
    var holder = $('#scatter');
    holder.textContent = '';
    var width = 560, height = 380, left = 64, right = 20, top = 20, bottom = 46;
    var svg = svgEl('svg', {width: width, height: height, role: 'img', 'aria-label': 'scatter'},
      holder);
    var rows = data.rows.filter(function (r) {
      return r.params[param] !== undefined && r.metrics[metric] !== undefined;
    });
    if (!rows.length) { svgText(svg, width / 2, height / 2, 'no runs have both'); return; }
    var xs = axisScale(rows.map(function (r) { return r.params[param]; }), data.numeric[param],
      data.numeric[param] ? logX : undefined);
    var ys = axisScale(rows.map(function (r) { return r.metrics[metric]; }), true, false);
    var px = function (t) { return left + t * (width - left - right); };
    var py = function (t) { return top + (1 - t) * (height - top - bottom); };
    var axis = svgEl('g', {'class': 'axis'}, svg);
    svgEl('line', {x1: left, x2: width - right, y1: height - bottom, y2: height - bottom}, axis);
    svgEl('line', {x1: left, x2: left, y1: top, y2: height - bottom}, axis);
    xs.ticks.forEach(function (t) { svgText(axis, px(t[0]), height - bottom + 16, String(t[1]).slice(0, 14)); });
    ys.ticks.forEach(function (t) { svgText(axis, left - 6, py(t[0]) + 4, String(t[1]), 'end'); });
    svgText(axis, (left + width - right) / 2, height - 8, param + (xs.log ? ' (log)' : ''));
    var yl = svgText(axis, 14, (top + height - bottom) / 2, metric);
    yl.setAttribute('transform', 'rotate(-90 14 ' + (top + height - bottom) / 2 + ')');
    rows.forEach(function (r, i) {
      var jitter = xs.cats ? ((i * 7919) % 17 - 8) / 400 : 0;
      var a = svgEl('a', {href: '/runs/' + enc(r.id)}, svg);
      var dot = svgEl('circle', {cx: px(Math.min(Math.max(xs.pos(r.params[param]) + jitter, 0), 1)),
        cy: py(ys.pos(r.metrics[metric])), r: 4, 'class': 'point', 'data-run': r.id,
        fill: colorFor(ys.pos(r.metrics[metric])), 'fill-opacity': 0.85}, a);
      var title = svgEl('title', {}, dot);
      title.textContent = r.name + ': ' + param + ' = ' + r.params[param] + ', ' + metric + ' = ' +
        r.metrics[metric];
    });
  }

  function importanceTable(items) {
    var holder = $('#importance');
    holder.textContent = '';
    var table = document.createElement('table');
    table.className = 'importance';
    var body = document.createElement('tbody');
    table.appendChild(body);
    items.forEach(function (item) {
      var tr = document.createElement('tr');
      tr.dataset.param = item.param;
      var th = document.createElement('th'); th.textContent = item.param; tr.appendChild(th);
      var td = document.createElement('td'); td.className = 'num';
      var symbol = item.kind === 'pearson' ? 'r' : '\u03b7';
      var v = item.value;
      td.textContent = symbol + ' = ' + (v === null ? 'n/a'
        : (item.kind === 'pearson' && v >= 0 ? '+' : '') + v.toFixed(2));
      tr.appendChild(td);
      var barCell = document.createElement('td'); barCell.className = 'barcell';
      if (v !== null) {
        var bar = document.createElement('span');
        bar.className = 'bar ' + (v < 0 ? 'neg' : 'pos');
        bar.style.width = Math.round(Math.abs(v) * 100) + '%';
        barCell.appendChild(bar);
      }
      tr.appendChild(barCell);
      var n = document.createElement('td'); n.className = 'num muted';
      n.textContent = item.runs + ' runs'; tr.appendChild(n);
      body.appendChild(tr);
    });
    holder.appendChild(table);
  }

  function sweepPage() {
    var block = $('#sweep-data');
    if (!block) { return; }
    var data = JSON.parse(block.textContent);
    var metricSel = $('#sweep-metric'), paramSel = $('#sweep-param'), logX = $('#sweep-logx');
    var params = new URL(location.href).searchParams;
    if (params.get('param') && data.params.indexOf(params.get('param')) >= 0) {
      paramSel.value = params.get('param');
    } else if (data.importance[metricSel.value] && data.importance[metricSel.value].length) {
      paramSel.value = data.importance[metricSel.value][0].param; // the strongest first
    }
    function render() {
      parallel(data, metricSel.value);
      scatter(data, paramSel.value, metricSel.value, logX.checked);
      importanceTable(data.importance[metricSel.value] || []);
    }
    metricSel.addEventListener('change', function () { setQuery('metric', metricSel.value); render(); });
    paramSel.addEventListener('change', function () { setQuery('param', paramSel.value); render(); });
    logX.addEventListener('change', render);
    render();
  }

  function start() {
    selectAll();
    onlyDifferences();
    runsTree();
    columnChooser();
    savedViews();
    makeCharts();
    overlayPicker();
    sweepPage();
    artifactPreview();
    livePolling();
    window.autologUI = {charts: charts, state: state};
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
