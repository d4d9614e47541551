// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

// Optional peers load on first use through src/peers (docs/development.md#packaging-optional-peers): anywhere
// else in src only `import type` of them is allowed, so `import 'penguiflow'` never needs a driver installed.
const PEERS = ['ioredis', 'pg', 'better-sqlite3', 'amqplib', '@nats-io/transport-node', '@nats-io/jetstream', '@grpc/grpc-js', '@a2a-js/sdk', '@bufbuild/protobuf', 'ws', 'msgpackr', 'undici', 'jose', 'rate-limiter-flexible', 'prom-client', '@opentelemetry/api', 'cockatiel', 'vitest', 'tsx'];
const peerBans = {
  paths: PEERS.map((name) => ({ name, allowTypeImports: true, message: 'an optional peer: load it through src/peers/ (import type is fine)' })),
  patterns: PEERS.map((name) => ({ group: [`${name}/*`], allowTypeImports: true, message: 'an optional peer: load it through src/peers/ (import type is fine)' })),
};

const coreBans = {
  patterns: [
    { group: ['node:*'], message: 'src/core and src/protocols are runtime-neutral: no node:* imports.' },
    { group: ['**/adapters/**', '**/a2a/**', '**/cli/**', '**/distributed/**', '**/remote/**'], message: 'core must not import outer layers.' },
  ],
  paths: ['http', 'https', 'net', 'fs', 'express', ...PEERS].map((name) => ({
    name,
    message: 'core must not import I/O or driver code.',
  })),
};

export default tseslint.config(
  // .ci/packed/*.mjs run inside fresh projects where `penguiflow` is the installed tarball (.ci/packed-tarball.sh runs them).
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '**/generated/**', '.penguiflow/**', '.ci/packed/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    // Without a TypeScript resolver, `./x.js` → `./x.ts` does not resolve and no-cycle sees nothing.
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/only-throw-error': 'off',
      '@typescript-eslint/prefer-promise-reject-errors': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      'import-x/no-cycle': ['error', { maxDepth: 10 }],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/peers/**', 'src/core/**', 'src/protocols/**', 'src/errors/**'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', peerBans] },
  },
  {
    files: ['src/core/**/*.ts', 'src/protocols/**/*.ts', 'src/errors/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', coreBans] },
  },
  {
    files: ['tests/**/*.ts', 'bench/**/*.ts', 'examples/**/*.ts'],
    rules: { '@typescript-eslint/unbound-method': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
);
