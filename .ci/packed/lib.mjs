// Helpers for the packed-tarball scenarios. Each scenario runs in a fresh project where
// `penguiflow` is installed from the tarball, so `import 'penguiflow'` is the real package.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

export { assert };
export const unique = process.env.PACKED_RUN_ID ?? `pk${Date.now().toString(36)}`;

/** The installed package's bin (what `npx penguiflow` runs). */
export function penguiflowBin() {
  const manifest = createRequire(path.join(process.cwd(), 'x.js')).resolve('penguiflow/package.json');
  return path.join(path.dirname(manifest), 'dist/cli/bin.js');
}

export function ok(line) {
  console.log(`ok - ${line}`);
}

/** Runs `penguiflow <args>` to completion. */
export function runCli(args, { timeoutMs = 60_000, env = {} } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [penguiflowBin(), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`penguiflow ${args.join(' ')} timed out\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts `penguiflow worker` and resolves once it is consuming. */
export function startWorker(args, { timeoutMs = 30_000 } = {}) {
  const child = spawn(process.execPath, [penguiflowBin(), 'worker', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker not ready after ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const onData = (d) => {
      out += d;
      if (/worker \S+ running/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code}:\n${out}`));
    });
  });
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve(child.exitCode);
      child.once('exit', (code) => resolve(code));
      child.kill('SIGTERM');
    });
  return { child, ready, stop, output: () => out };
}

/** Rejects when `promise` takes longer than `ms` (a hang is a failure, not a stuck job). */
export function within(ms, promise, what) {
  let timer;
  return Promise.race([promise, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

/** Asserts `fn` rejects with MISSING_PEER naming `install`. */
export async function expectMissingPeer(fn, install) {
  let caught;
  try {
    await fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught, `expected MISSING_PEER (${install}), got no error`);
  assert.equal(caught.code, 'MISSING_PEER', `expected MISSING_PEER, got ${caught.code ?? caught.name}: ${caught.message}`);
  assert.equal(caught.name, 'MissingPeerDependencyError');
  assert.ok(caught.message.includes(install), `message names "${install}": ${caught.message}`);
  return caught;
}
