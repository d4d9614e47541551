/**
 * Lets core open a bus from a URL (`flow.run({ distributed: { bus: 'redis://…' } })`)
 * without importing an adapter: the opener imports `bus-url.js` (and through it
 * the driver) only when a URL is actually given.
 */
import { provideBusOpener } from '../core/url-bus.js';

provideBusOpener(async (url) => (await import('./bus-url.js')).openMessageBus(url));
