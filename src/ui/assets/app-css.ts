/** The viewer's stylesheet. */
export const APP_CSS = `
:root { --bg:#fbfbfa; --fg:#1d232b; --muted:#687382; --line:#dde1e6; --ok:#2f9e62; --err:#d0453b; --timeout:#d9822b; --cancel:#7a5cc2; --run:#2f7bd9; --remote:#11a3a3; --deadline:#a2542b; }
* { box-sizing: border-box; }
body { margin:0; font:13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color:var(--fg); background:var(--bg); }
header { display:flex; flex-wrap:wrap; align-items:center; gap:16px; padding:10px 16px; border-bottom:1px solid var(--line); background:#fff; }
h1 { font-size:16px; margin:0; } h1 span { color:var(--muted); font-weight:400; }
form { display:flex; flex-wrap:wrap; gap:10px; align-items:center; }
label { color:var(--muted); } input, select, button { font:inherit; padding:3px 6px; border:1px solid var(--line); border-radius:4px; background:#fff; color:var(--fg); }
button { cursor:pointer; background:var(--fg); color:#fff; border-color:var(--fg); }
main { display:grid; grid-template-columns:minmax(480px, 44%) 1fr; gap:0; min-height:calc(100vh - 52px); }
#list-pane { border-right:1px solid var(--line); overflow:auto; max-height:calc(100vh - 52px); }
table { border-collapse:collapse; width:100%; font-size:12px; }
th, td { text-align:left; padding:5px 6px; border-bottom:1px solid var(--line); white-space:nowrap; max-width:220px; overflow:hidden; text-overflow:ellipsis; }
td:last-child { white-space:normal; min-width:120px; max-width:170px; overflow-wrap:anywhere; }
th { position:sticky; top:0; background:#f3f4f6; font-weight:600; color:var(--muted); }
tbody tr { cursor:pointer; } tbody tr:hover { background:#eef3fb; } tbody tr.selected { background:#dde8f8; }
.mono { font-family:ui-monospace, SFMono-Regular, Menlo, monospace; font-size:12px; }
.badge { display:inline-block; padding:0 6px; border-radius:9px; font-size:11px; color:#fff; }
.badge.succeeded { background:var(--ok); } .badge.failed { background:var(--err); } .badge.cancelled { background:var(--cancel); } .badge.running { background:var(--run); }
.note { color:var(--muted); padding:8px 12px; }
#detail-pane { padding:12px 16px; overflow:auto; }
#detail-empty { padding:24px; }
[hidden] { display:none !important; }
#trace-head { display:flex; flex-wrap:wrap; gap:14px; align-items:baseline; margin-bottom:8px; }
#trace-head h2 { font-size:15px; margin:0; }
.live { color:var(--run); font-weight:600; } .live::before { content:"● "; animation:blink 1s infinite; }
@keyframes blink { 50% { opacity:.3; } }
#legend { display:flex; flex-wrap:wrap; gap:12px; color:var(--muted); font-size:12px; margin-bottom:8px; }
#legend i { display:inline-block; width:12px; height:10px; border-radius:2px; margin-right:4px; vertical-align:middle; }
.gantt-row { display:grid; grid-template-columns:200px 1fr; align-items:center; border-bottom:1px solid var(--line); min-height:30px; }
.lane-label { padding:4px 8px 4px 0; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }
.lane-label .worker { display:block; color:var(--muted); font-size:11px; }
.track { position:relative; height:30px; }
.axis .track { height:18px; color:var(--muted); font-size:11px; }
.tick { position:absolute; top:0; border-left:1px solid var(--line); padding-left:3px; height:100%; white-space:nowrap; }
.tick.last { border-left:0; border-right:1px solid var(--line); padding:0 3px 0 0; }
.bar { position:absolute; top:4px; height:16px; min-width:3px; border-radius:3px; background:var(--ok); cursor:pointer; color:#fff; font-size:11px; line-height:16px; padding:0 4px; overflow:hidden; white-space:nowrap; }
.bar.error { background:var(--err); } .bar.timeout { background:var(--timeout); } .bar.cancelled { background:var(--cancel); } .bar.deadline { background:var(--deadline); }
.bar.running { background:var(--run); background-image:linear-gradient(90deg, rgba(255,255,255,.0), rgba(255,255,255,.35), rgba(255,255,255,0)); background-size:200% 100%; animation:slide 1.2s linear infinite; }
@keyframes slide { from { background-position:200% 0; } to { background-position:-200% 0; } }
.bar.remote { top:22px; height:6px; background:var(--remote); font-size:0; }
.bar.retry { outline:2px dashed var(--timeout); outline-offset:1px; }
.bar.selected { box-shadow:0 0 0 2px var(--fg); }
.marker { position:absolute; top:2px; transform:translateX(-50%); font-size:13px; line-height:13px; cursor:pointer; user-select:none; }
.marker.retry { color:var(--timeout); font-weight:700; font-size:16px; top:-2px; } .marker.chunk { top:24px; font-size:8px; color:var(--run); } .marker.failed { color:var(--err); }
.marker.deadline_skip, .marker.load_shed { color:var(--deadline); } .marker.resilience { color:var(--remote); font-weight:700; } .marker.cancelled { color:var(--cancel); }
.vline { position:absolute; top:0; bottom:0; width:0; border-left:2px solid var(--cancel); pointer-events:none; }
.vline.complete { border-left:1px dashed var(--muted); }
.vline-label.flip { transform:translateX(-100%); padding:0 4px 0 0; }
.vline-label { position:absolute; top:31px; font-size:11px; line-height:14px; color:var(--cancel); padding:0 4px; white-space:nowrap; cursor:pointer; background:rgba(251,251,250,.92); border-radius:3px; font-weight:600; }
#gantt { position:relative; }
#gantt .overlay { position:absolute; top:0; bottom:0; left:200px; right:0; pointer-events:none; }
#gantt .overlay .vline-label { pointer-events:auto; }
#inspector { margin-top:12px; background:#fff; border:1px solid var(--line); border-radius:6px; padding:10px 12px; color:var(--fg); }
#inspector dl { display:grid; grid-template-columns:120px 1fr; gap:3px 12px; margin:0; }
#inspector dt { color:var(--muted); } #inspector dd { margin:0; word-break:break-all; }
#inspector .error-message { white-space:pre-wrap; color:var(--err); font-family:ui-monospace, monospace; }
`;
