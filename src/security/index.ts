/**
 * @module penguiflow/security — authentication (API keys stored hashed,
 * bearer JWTs via JWKS, client certificates), scopes per A2A operation,
 * tenant binding, rate limits (memory or Redis), TLS helpers, outbound
 * safety (agent URL allowlist, SSRF-safe webhooks with pinned addresses) and
 * a redacting logger. See docs/security.md.
 */
export * from './authenticator.js';
export * from './api-keys.js';
export * from './jwt.js';
export * from './client-cert.js';
export * from './scopes.js';
export * from './rate-limiter.js';
export * from './a2a-security.js';
export * from './ssrf.js';
export * from './safe-fetch.js';
export * from './guarded-fetch.js';
export * from './url-allowlist.js';
export * from './tls.js';
export * from './redacting-logger.js';
export * from './protect-handler.js';
export * from './from-env.js';
