// better-sqlite3 installed with --ignore-scripts (pnpm 10's default): no native addon. Opening the SQLite
// store says how to fix it, instead of "Could not locate the bindings file".
import { createSqliteStateStore } from 'penguiflow/sqlite';
import { openStateStore } from 'penguiflow/stores';
import { expectMissingPeer, ok, runCli } from './lib.mjs';

await expectMissingPeer(() => createSqliteStateStore({ path: './state.db' }), 'npm rebuild better-sqlite3');
await expectMissingPeer(() => openStateStore('sqlite:./state.db'), 'npm rebuild better-sqlite3');
const demo = await runCli(['demo', '--store-path', './demo.db']);
if (demo.code !== 1 || !demo.stderr.includes('npm rebuild better-sqlite3')) throw new Error(`demo: ${demo.code}\n${demo.stderr}`);
ok('an unbuilt better-sqlite3 is MISSING_PEER with "npm rebuild better-sqlite3" (store, URL, demo)');
