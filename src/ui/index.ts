/**
 * The trace viewer: an HTTP server with a static page and a JSON/SSE API over a StateStore.
 *
 * @module penguiflow/ui (internal; started by `penguiflow ui`)
 */
export { createUiServer, type UiServer, type UiServerOptions } from './server.js';
export { buildTimeline, type TimelineBar, type TimelineLane, type TimelineMarker, type TimelineModel } from './timeline.js';
export { listTraces, listParamsOf, type TraceListParams } from './api.js';
