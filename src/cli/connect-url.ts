import { InvalidOptionsError } from '../errors/index.js';

/** The env variables each kind of URL is read from (the first one set wins). */
export const URL_ENV = {
  bus: ['PENGUIFLOW_BUS', 'PENGUIFLOW_BUS_URL'],
  registry: ['PENGUIFLOW_REGISTRY', 'PENGUIFLOW_REGISTRY_URL'],
} as const;

/**
 * The URL a command connects to: its flag, else the env. No hidden default:
 * without either it fails with a message saying what to pass.
 */
export function requireUrl(kind: keyof typeof URL_ENV, flag: string | undefined, example: string): string {
  if (flag !== undefined && flag !== '') return flag;
  for (const name of URL_ENV[kind]) {
    const value = process.env[name];
    if (value !== undefined && value !== '') return value;
  }
  throw new InvalidOptionsError(`No ${kind} URL: pass --${kind} <url> (e.g. --${kind} ${example}) or set ${URL_ENV[kind][0]}`);
}

/** What a URL points at, safe to print: scheme and host:port (or the file), never credentials, paths or query. */
export function describeTarget(url: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'sqlite' || scheme === 'memory') return url.split('?')[0] ?? url;
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return `${scheme ?? 'unknown'}://…`;
  }
}

/** Prints where a command connects, to stderr (stdout stays the command's output). */
export function announce(command: string, kind: string, url: string): void {
  process.stderr.write(`penguiflow ${command}: ${kind} ${describeTarget(url)}\n`);
}
