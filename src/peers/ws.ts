/** `ws` and `msgpackr` for the WebSocket binding, loaded on first use (see peer.ts). */
import type * as Msgpackr from 'msgpackr';
import type * as Ws from 'ws';
import { lazyExport } from './peer.js';

export type { RawData, WebSocket } from 'ws';
export const WebSocketServer = lazyExport<typeof Ws.WebSocketServer>('ws', (m) => m.WebSocketServer ?? m.Server);
export type WebSocketServer = Ws.WebSocketServer;
export const Packr = lazyExport<typeof Msgpackr.Packr>('msgpackr', (m) => m.Packr);
export type Packr = Msgpackr.Packr;
