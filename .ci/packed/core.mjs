// Core only: installed with --ignore-scripts and no other package.
import { readdirSync } from 'node:fs';
import { inspect } from 'node:util';
import { createFlow, joinK, message, node, StoreUnavailableError } from 'penguiflow';
import { isPenguiflowError } from 'penguiflow/errors';
import { isConsumableBus } from 'penguiflow/protocols';
import { InMemoryMessageBus, InMemoryStateStore } from 'penguiflow/memory';
import { openStateStore } from 'penguiflow/stores';
import { assert, expectMissingPeer, ok, runCli } from './lib.mjs';

const installed = readdirSync('node_modules').filter((n) => !n.startsWith('.'));
assert.deepEqual(installed, ['penguiflow'], `node_modules holds penguiflow alone, found: ${installed.join(', ')}`);
ok('node_modules holds penguiflow alone');

const stateStore = new InMemoryStateStore();
const a = node('a', (m) => m.payload + 1);
const b = node('b', (m) => m.payload * 10);
const c = node('c', (m) => m.payload * 100);
const join = joinK('join', 2);
const flow = createFlow(a.to(b, c), b.to(join), c.to(join), { stateStore });
flow.run();
const msg = message(1, { tenant: 'packed' });
const result = await flow.call(msg);
assert.deepEqual([...result.payload].sort((x, y) => x - y), [20, 200]);
await flow.stop();
assert.ok((await stateStore.loadHistory(msg.traceId, { tenant: 'packed' })).length > 0);
ok('a fan-out + join flow ran and recorded its history (penguiflow, penguiflow/memory)');

assert.ok(isConsumableBus(new InMemoryMessageBus()));
const memory = await openStateStore('memory:');
await memory.close?.();
ok('penguiflow/protocols, penguiflow/errors, penguiflow/stores load');

assert.equal(inspect(new StoreUnavailableError('down')).split('\n')[0], 'StoreUnavailableError: down');
let invalid;
try {
  createFlow(node('x', (m) => m.payload).to(node('x', (m) => m.payload)));
} catch (error) {
  invalid = error;
}
assert.ok(isPenguiflowError(invalid, 'INVALID_FLOW'), `duplicate node names are INVALID_FLOW, got ${invalid}`);
assert.match(String(invalid.stack), /node_modules\/penguiflow\/dist\/core\//, `stack frames point at shipped files:\n${invalid.stack}`);
assert.ok(!String(invalid.stack).includes('/src/'), `no frame points at unshipped src/:\n${invalid.stack}`);
ok('errors print their class name; stack frames point at shipped files');

// Every other entry point: a missing driver is one typed error with the install command.
const { createRedisMessageBus } = await import('penguiflow/redis');
await expectMissingPeer(() => createRedisMessageBus({ url: 'redis://127.0.0.1:6379' }), 'npm install ioredis');
const { openMessageBus } = await import('penguiflow/distributed');
await expectMissingPeer(() => openMessageBus('redis://127.0.0.1:6379'), 'npm install ioredis');
await expectMissingPeer(() => openMessageBus('nats://127.0.0.1:4222'), 'npm install @nats-io/transport-node@3.3 @nats-io/jetstream@3.3');
await expectMissingPeer(() => openMessageBus('amqp://127.0.0.1:5672'), 'npm install amqplib');
await expectMissingPeer(() => openMessageBus('postgres://127.0.0.1:5432/test'), 'npm install pg');
const { createSqliteStateStore } = await import('penguiflow/sqlite');
await expectMissingPeer(() => createSqliteStateStore({ path: ':memory:' }), 'npm install better-sqlite3@12');
await expectMissingPeer(() => openStateStore('sqlite:./x.db'), 'npm install better-sqlite3@12');
await expectMissingPeer(() => import('penguiflow/testing'), 'npm install --save-dev vitest');
const { createMetrics } = await import('penguiflow/observability');
await expectMissingPeer(() => createMetrics(), 'npm install prom-client');
const { createA2AFetch } = await import('penguiflow/a2a');
await expectMissingPeer(() => createA2AFetch(), 'npm install undici');
await expectMissingPeer(() => import('penguiflow/a2a/grpc'), 'npm install @grpc/grpc-js @a2a-js/sdk @bufbuild/protobuf');
ok('each driver entry point, opened without its peer, gives MISSING_PEER with the install command');

const version = await runCli(['--version']);
assert.equal(version.code, 0);
assert.match(version.stdout.trim(), /^\d+\.\d+\.\d+/);
const help = await runCli(['--help']);
assert.equal(help.code, 0);
for (const command of ['demo', 'history', 'worker', 'serve', 'dlq', 'agents']) assert.ok(help.stdout.includes(command), `--help lists ${command}`);
const workerHelp = await runCli(['worker', '--help']);
assert.match(workerHelp.stdout, /--bus <url>\s+bus URL, required unless PENGUIFLOW_BUS/);
ok(`penguiflow --version (${version.stdout.trim()}), --help and worker --help`);

const noBus = await runCli(['worker', '--flow', './worker-flow.mjs'], { env: { PENGUIFLOW_BUS: '', PENGUIFLOW_BUS_URL: '' } });
assert.equal(noBus.code, 1);
assert.match(noBus.stderr, /No bus URL: pass --bus <url>/);
const demo = await runCli(['demo', '--store-path', './demo.db']);
assert.equal(demo.code, 1);
assert.match(demo.stderr, /better-sqlite3.*npm install better-sqlite3@12/);
ok('worker without --bus refuses; demo without better-sqlite3 names the install command');
