/**
 * The viewer's script: plain browser JavaScript, no framework, no build step.
 * It renders with textContent/setAttribute only, so names and errors from the
 * store are shown as text. Kept free of backticks and template holes so it
 * can live in this string.
 */
export const APP_JS = `'use strict';
(function () {
  // Every string from the server goes into the page through textContent or an attribute set by
  // setAttribute: nothing from data is ever parsed as HTML.
  var $ = function (sel) { return document.querySelector(sel); };
  function el(tag, attrs, children) {
    var n = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (k === 'text') n.textContent = attrs[k];
      else if (k === 'class') n.className = attrs[k];
      else if (k === 'style') for (var s in attrs.style) n.style.setProperty(s, attrs.style[s]);
      else if (k.slice(0, 2) === 'on') n.addEventListener(k.slice(2), attrs[k]);
      else n.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) { if (c != null) n.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return n;
  }
  function clear(n) { while (n.firstChild) n.removeChild(n.firstChild); }
  function fmtTime(ts) { var d = new Date(ts); return d.toISOString().replace('T', ' ').slice(0, 19); }
  function fmtMs(ms) { return ms < 1000 ? Math.round(ms) + ' ms' : (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s'; }
  function qs(obj) { var p = new URLSearchParams(); for (var k in obj) if (obj[k]) p.set(k, obj[k]); var s = p.toString(); return s ? '?' + s : ''; }

  var state = { filters: {}, selected: null, source: null, model: null, pick: null };

  function readFilters() {
    var f = new FormData($('#filters'));
    state.filters = { tenant: f.get('tenant') || '', status: f.get('status') || '', since: f.get('since') || '', q: f.get('q') || '' };
  }

  function loadList() {
    readFilters();
    return fetch('/api/traces' + qs(Object.assign({ limit: '100' }, state.filters)))
      .then(function (r) { return r.json().then(function (b) { if (!r.ok) throw new Error(b.error || r.statusText); return b; }); })
      .then(renderList)
      .catch(function (e) { $('#list-note').textContent = 'Could not list traces: ' + e.message; });
  }

  function renderList(body) {
    var tbody = $('#traces tbody');
    clear(tbody);
    body.traces.forEach(function (t) {
      var tr = el('tr', { 'data-trace': t.traceId, 'data-tenant': t.tenant, onclick: function () { select(t.traceId, t.tenant); } }, [
        el('td', { class: 'mono', title: t.traceId, text: t.traceId }),
        el('td', { text: t.tenant }),
        el('td', {}, [el('span', { class: 'badge ' + t.status, text: t.status })]),
        el('td', { title: fmtTime(t.firstTs), text: fmtTime(t.firstTs).slice(11) }),
        el('td', { text: fmtMs(t.lastTs - t.firstTs) }),
        el('td', { text: String(t.eventCount) }),
        el('td', { title: t.nodes.join(', '), text: t.nodes.join(', ') }),
      ]);
      if (state.selected && state.selected.traceId === t.traceId) tr.classList.add('selected');
      tbody.appendChild(tr);
    });
    $('#list-note').textContent = body.traces.length === 0 ? 'No traces match.' : body.traces.length + ' traces' + (body.nextCursor ? ' (more: narrow the filters)' : '');
  }

  function select(traceId, tenant) {
    state.selected = { traceId: traceId, tenant: tenant };
    state.pick = null;
    state.model = null;
    $('#inspector').textContent = 'Click a bar or a marker to see its details.';
    if (location.hash !== '#trace=' + encodeURIComponent(traceId)) history.replaceState(null, '', '#trace=' + encodeURIComponent(traceId));
    Array.prototype.forEach.call(document.querySelectorAll('#traces tbody tr'), function (tr) { tr.classList.toggle('selected', tr.getAttribute('data-trace') === traceId); });
    if (state.source) state.source.close();
    $('#detail-pane').hidden = false;
    $('#detail-empty').hidden = true;
    var src = new EventSource('/api/traces/' + encodeURIComponent(traceId) + '/stream' + qs({ tenant: tenant || '' }));
    state.source = src;
    state.live = true;
    src.addEventListener('timeline', function (ev) { state.model = JSON.parse(ev.data); renderDetail(); });
    src.addEventListener('end', function () { src.close(); state.live = false; renderDetail(); loadList(); });
    src.addEventListener('problem', function (ev) { $('#inspector').textContent = 'Store problem: ' + JSON.parse(ev.data).message; });
    src.onerror = function () { if (src.readyState === 2) { state.live = false; renderDetail(); } };
  }

  var COLORS = [['success', 'var(--ok)'], ['error', 'var(--err)'], ['timeout', 'var(--timeout)'], ['cancelled', 'var(--cancel)'], ['running', 'var(--run)'], ['remote call', 'var(--remote)'], ['deadline', 'var(--deadline)']];

  function renderDetail() {
    var m = state.model;
    if (!m) return;
    var head = $('#trace-head');
    clear(head);
    head.appendChild(el('h2', { class: 'mono', text: m.traceId }));
    head.appendChild(el('span', { class: 'badge ' + m.status, text: m.status }));
    head.appendChild(el('span', { text: 'flow ' + m.flow + ' · tenant ' + m.tenant + ' · ' + m.eventCount + ' events · ' + fmtMs((m.status === 'running' ? Math.max(m.endTs, Date.now()) : m.endTs) - m.startTs) + (m.status === 'running' ? ' so far' : '') }));
    if (state.live && m.status === 'running') head.appendChild(el('span', { class: 'live', id: 'live', text: 'live' }));
    var legend = $('#legend');
    clear(legend);
    COLORS.forEach(function (c) { legend.appendChild(el('span', {}, [el('i', { style: { background: c[1] } }), c[0]])); });
    legend.appendChild(el('span', { text: '↻ retry · ✕ cancel · • stream chunk · ⊘ deadline skip · ▼ load shed · ⇄ failover/fallback · ! failed' }));

    var now = Date.now();
    var t0 = m.startTs;
    var t1 = Math.max(m.endTs, m.status === 'running' ? Math.min(now, m.endTs + 60000) : m.endTs);
    m.bars.forEach(function (b) { if (b.end == null && m.status === 'running') t1 = Math.max(t1, Math.min(now, b.start + 60000)); });
    var span = Math.max(1, t1 - t0);
    var pct = function (ts) { return ((ts - t0) / span) * 100; };

    var g = $('#gantt');
    clear(g);
    var axis = el('div', { class: 'gantt-row axis' }, [el('div', { class: 'lane-label', text: 'node / worker' })]);
    var axisTrack = el('div', { class: 'track' });
    for (var i = 0; i <= 4; i++) axisTrack.appendChild(el('span', { class: 'tick' + (i === 4 ? ' last' : ''), style: i === 4 ? { right: '0' } : { left: (i * 25) + '%' }, text: '+' + fmtMs((span * i) / 4) }));
    axis.appendChild(axisTrack);
    g.appendChild(axis);

    var tracks = {};
    m.lanes.forEach(function (lane) {
      var label = el('div', { class: 'lane-label', title: lane.node + (lane.worker ? ' @ ' + lane.worker : '') }, [el('span', { class: 'node-name', text: lane.node || '(trace)' }), lane.worker ? el('span', { class: 'worker', text: 'on ' + lane.worker }) : el('span', { class: 'worker', text: 'controller' })]);
      var track = el('div', { class: 'track', 'data-lane': lane.node });
      tracks[lane.id] = track;
      g.appendChild(el('div', { class: 'gantt-row' }, [label, track]));
    });
    m.bars.forEach(function (b) {
      var track = tracks[b.lane];
      if (!track) return;
      var end = b.end != null ? b.end : Math.min(now, t1);
      var cls = 'bar ' + b.outcome + (b.kind === 'remote' ? ' remote' : '') + (b.retry ? ' retry' : '') + (state.pick === b.id ? ' selected' : '');
      var widthPct = Math.max(0.3, pct(end) - pct(b.start));
      var label = b.kind === 'remote' || widthPct < 6 ? '' : (b.retry ? '↻ ' : '') + 'attempt ' + (b.attempt + 1) + (b.chunks ? ' · ' + b.chunks + ' chunks' : '');
      track.appendChild(el('div', { class: cls, 'data-outcome': b.outcome, 'data-attempt': String(b.attempt), 'data-kind': b.kind, style: { left: pct(b.start) + '%', width: widthPct + '%' }, title: b.outcome, text: label, onclick: function () { state.pick = b.id; inspectBar(b); renderDetail(); } }));
    });
    var SYMBOL = { retry: '↻', chunk: '•', failed: '!', deadline_skip: '⊘', load_shed: '▼', cancelled: '✕', resilience: '⇄' };
    var overlay = el('div', { class: 'overlay' });
    m.markers.forEach(function (mk) {
      if (mk.lane != null && tracks[mk.lane] && SYMBOL[mk.kind]) {
        tracks[mk.lane].appendChild(el('span', { class: 'marker ' + mk.kind, 'data-marker': mk.kind, style: { left: pct(mk.ts) + '%' }, title: mk.kind + (mk.detail ? ': ' + mk.detail : ''), text: SYMBOL[mk.kind], onclick: function () { inspectMarker(mk); } }));
      } else if (mk.kind === 'cancel_start' || mk.kind === 'cancel_finish' || mk.kind === 'complete') {
        var line = el('div', { class: 'vline ' + mk.kind, 'data-marker': mk.kind, style: { left: pct(mk.ts) + '%' } });
        overlay.appendChild(line);
        if (mk.kind === 'cancel_start') overlay.appendChild(el('span', { class: 'vline-label' + (pct(mk.ts) > 80 ? ' flip' : ''), 'data-marker-label': 'cancel', style: { left: pct(mk.ts) + '%' }, text: '✕ cancel', onclick: function () { inspectMarker(mk); } }));
      }
    });
    g.appendChild(overlay);
  }

  function dl(rows) {
    var d = el('dl');
    rows.forEach(function (r) { if (r[1] == null || r[1] === '') return; d.appendChild(el('dt', { text: r[0] })); d.appendChild(el('dd', { class: r[2] || '', text: String(r[1]) })); });
    return d;
  }

  function inspectBar(b) {
    var lane = state.model.lanes.filter(function (l) { return l.id === b.lane; })[0] || {};
    var box = $('#inspector');
    clear(box);
    box.appendChild(dl([
      ['node', lane.node], ['worker', lane.worker || 'controller'], ['kind', b.kind === 'remote' ? 'remote call' : 'node attempt'],
      ['attempt', b.attempt + 1 + (b.retry ? ' (retry)' : '')], ['outcome', b.outcome], ['message', b.messageId, 'mono'],
      ['started', fmtTime(b.start)], ['duration', b.end != null ? fmtMs(b.latencyMs != null ? b.latencyMs : b.end - b.start) : 'running'],
      ['agent', b.agentUrl], ['chunks', b.chunks || ''],
      ['error code', b.error && b.error.code], ['error', b.error && b.error.message, 'error-message'],
    ]));
  }

  function inspectMarker(mk) {
    var box = $('#inspector');
    clear(box);
    box.appendChild(dl([['event', mk.kind], ['node', mk.node], ['at', fmtTime(mk.ts)], ['detail', mk.detail], ['error code', mk.error && mk.error.code], ['error', mk.error && mk.error.message, 'error-message']]));
  }

  document.addEventListener('DOMContentLoaded', function () {
    $('#filters').addEventListener('submit', function (e) { e.preventDefault(); loadList(); });
    loadList().then(function () {
      var h = /^#trace=(.+)$/.exec(location.hash);
      if (h) {
        var id = decodeURIComponent(h[1]);
        var row = document.querySelector('#traces tbody tr[data-trace="' + CSS.escape(id) + '"]');
        select(id, row ? row.getAttribute('data-tenant') : '');
      }
    });
    setInterval(function () { if (!document.hidden) loadList(); }, 5000);
  });
})();
`;
