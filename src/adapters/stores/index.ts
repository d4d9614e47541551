/**
 * @module penguiflow/stores — open a StateStore from a URL, as the CLI does.
 * The adapter (and its driver) is imported only for the URL's scheme, so a
 * SQLite user needs no `pg` and a `memory:` user needs no driver at all.
 *
 * @example
 * import { openStateStore } from 'penguiflow/stores';
 * const store = await openStateStore(process.env.PENGUIFLOW_STORE ?? 'sqlite:./.penguiflow/state.db');
 * // … the store is yours: await store.close?.() when done.
 */
export { DEFAULT_STORE_URL, openStateStore, redactStoreUrl } from '../store-url.js';
