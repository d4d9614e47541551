/**
 * Every optional peer dependency, the range we test (package.json
 * `peerDependencies` must match; a unit test checks), the entry points that
 * load it and the install command the MISSING_PEER error prints.
 */
export const PEERS = {
  ioredis: { range: '^5.11.1 || ^6.0.0', neededBy: 'penguiflow/redis (and redis:// bus and registry URLs)' },
  pg: { range: '^8.23.1', neededBy: 'penguiflow/postgres (and postgres:// store, bus and registry URLs)' },
  'better-sqlite3': { range: '^12.11.1', neededBy: 'penguiflow/sqlite (and sqlite: store, bus and registry URLs, the demo)', install: 'npm install better-sqlite3@12' },
  amqplib: { range: '>=0.10.9 <3', neededBy: 'penguiflow/rabbitmq (and amqp:// bus URLs)' },
  '@nats-io/transport-node': { range: '^3.3.1', neededBy: 'penguiflow/nats (and nats:// bus URLs)', install: 'npm install @nats-io/transport-node@3.3 @nats-io/jetstream@3.3' },
  '@nats-io/jetstream': { range: '^3.3.1', neededBy: 'penguiflow/nats (and nats:// bus URLs)', install: 'npm install @nats-io/transport-node@3.3 @nats-io/jetstream@3.3' },
  '@grpc/grpc-js': { range: '^1.14.7', neededBy: 'penguiflow/a2a/grpc', install: 'npm install @grpc/grpc-js @a2a-js/sdk @bufbuild/protobuf' },
  '@a2a-js/sdk': { range: '^1.3.0', neededBy: 'penguiflow/a2a/grpc', install: 'npm install @grpc/grpc-js @a2a-js/sdk @bufbuild/protobuf' },
  '@bufbuild/protobuf': { range: '^2.17.0', neededBy: 'penguiflow/a2a/grpc', install: 'npm install @grpc/grpc-js @a2a-js/sdk @bufbuild/protobuf' },
  ws: { range: '^8.23.0', neededBy: 'penguiflow/a2a/ws', install: 'npm install ws msgpackr' },
  msgpackr: { range: '^2.0.5', neededBy: "penguiflow/a2a/ws and the distributed 'msgpack' codec" },
  undici: { range: '^7.30.2', neededBy: 'createA2AFetch, penguiflow/security (safe fetch, TLS client)' },
  jose: { range: '^6.2.18', neededBy: 'penguiflow/security (JWT / JWKS verification)' },
  'rate-limiter-flexible': { range: '^11.4.0', neededBy: 'penguiflow/security (rate limits)' },
  'prom-client': { range: '^15.1.3', neededBy: 'penguiflow/observability (Prometheus metrics; PENGUIFLOW_METRICS_PORT)' },
  '@opentelemetry/api': { range: '^1.9.1', neededBy: 'penguiflow/observability (tracing; PENGUIFLOW_TRACING)' },
  cockatiel: { range: '^3.2.1', neededBy: 'penguiflow/resilience (circuit breakers)' },
  tsx: { range: '^4.19.0', neededBy: 'penguiflow worker/serve with a .ts flow file', install: 'npm install --save-dev tsx' },
  vitest: { range: '^4.1.12', neededBy: 'penguiflow/testing (the conformance suites)', install: 'npm install --save-dev vitest' },
} as const satisfies Record<string, { range: string; neededBy: string; install?: string }>;

export type PeerName = keyof typeof PEERS;

/** The command that installs `name` (and the packages that go with it). */
export function installCommand(name: PeerName): string {
  const row: { range: string; install?: string } = PEERS[name];
  return row.install ?? `npm install ${name}`;
}
