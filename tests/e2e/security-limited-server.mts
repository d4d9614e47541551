/**
 * A server process for the two-process rate-limit test: API-key auth, a
 * per-tenant budget in Redis (RL_PREFIX keeps test runs apart). Prints
 * `{"url": …}` once listening; exits on SIGTERM.
 */
import { Redis } from 'ioredis';
import { createFlow, node } from '../../src/index.js';
import { InMemoryStateStore } from '../../src/adapters/memory/index.js';
import { createA2AServer } from '../../src/a2a/index.js';
import { createA2ASecurity, createApiKeyAuthenticator, createRateLimiter } from '../../src/security/index.js';

const redis = new Redis(process.env.REDIS_URL!, { commandTimeout: 1_000, maxRetriesPerRequest: 1 });
const flow = createFlow(node('echo', (m) => m.payload));
flow.run();
const security = createA2ASecurity({
  authenticators: [createApiKeyAuthenticator({ keys: [{ id: 'k', hash: process.env.KEY_HASH!, tenants: ['acme', 'globex'], scopes: ['admin'] }] })],
  rateLimiter: createRateLimiter({ perTenant: { points: Number(process.env.RL_POINTS), durationSec: 60 }, redis, keyPrefix: process.env.RL_PREFIX! }),
});
const server = createA2AServer({ flow, store: new InMemoryStateStore(), auth: security.auth, authorize: security.authorize, card: { name: 'limited', description: 'limited', ...security.card } });
const { url } = await server.listen();
process.stdout.write(JSON.stringify({ url }) + '\n');
process.on('SIGTERM', () => {
  void server.close().then(() => flow.stop()).then(() => redis.quit()).then(() => process.exit(0));
});
