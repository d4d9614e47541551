/** The viewer's only HTML: a shell the script fills. No inline script or style (the CSP forbids them). */
export const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>penguiflow traces</title>
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header>
  <h1>penguiflow <span>traces</span></h1>
  <form id="filters" autocomplete="off">
    <label>tenant <input name="tenant" placeholder="all"></label>
    <label>status <select name="status">
      <option value="">any</option><option>running</option><option>succeeded</option><option>failed</option><option>cancelled</option>
    </select></label>
    <label>since <select name="since">
      <option value="">any time</option><option value="15m">15 min</option><option value="1h">1 hour</option><option value="24h">24 hours</option><option value="7d">7 days</option>
    </select></label>
    <label>node <input name="q" placeholder="text in node names"></label>
    <button type="submit">Filter</button>
  </form>
</header>
<main>
  <section id="list-pane">
    <table id="traces"><thead><tr><th>trace</th><th>tenant</th><th>status</th><th>started</th><th>duration</th><th>events</th><th>nodes</th></tr></thead><tbody></tbody></table>
    <p id="list-note" class="note"></p>
  </section>
  <p id="detail-empty" class="note">Select a trace to see its timeline: a lane per node and worker, a bar per attempt, retries, chunks, remote calls and cancels.</p>
  <section id="detail-pane" hidden>
    <div id="trace-head"></div>
    <div id="legend"></div>
    <div id="gantt"></div>
    <div id="inspector" class="note">Click a bar or a marker to see its details.</div>
  </section>
</main>
</body>
</html>
`;
