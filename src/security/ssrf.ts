/**
 * Outbound address policy (SSRF guard): which IP addresses a server may
 * connect to on a caller's behalf (webhooks). Loopback, private, link-local,
 * multicast, unspecified, reserved and cloud-metadata addresses are refused;
 * IPv6 forms that carry an IPv4 address (mapped, translated, NAT64, 6to4) are
 * unwrapped first; tunnels whose target the guard cannot see (Teredo, 6to4
 * relays, local-use NAT64) are refused outright. Loopback and private
 * ranges are allowed only by an explicit option (tests, trusted networks).
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { ForbiddenError } from '../errors/index.js';

export type AddressClass = 'public' | 'loopback' | 'private' | 'link-local' | 'multicast' | 'metadata' | 'unspecified' | 'reserved';

/** Resolves a hostname to every address it has (default: `dns.lookup` with `all: true`). */
export type Resolver = (hostname: string) => Promise<{ address: string; family: number }[]>;

export interface OutboundPolicy {
  /** Allow 127.0.0.0/8 and ::1. For tests only. */
  allowLoopback?: boolean;
  /** Allow RFC 1918, CGNAT and unique-local ranges (a trusted internal network). */
  allowPrivate?: boolean;
  /** Accepted URL schemes. Default http: and https:. */
  schemes?: readonly string[];
  resolver?: Resolver;
}

const METADATA_V4 = new Set(['169.254.169.254', '169.254.170.2', '100.100.100.200', '192.0.0.192']);
const METADATA_HOSTS = new Set(['metadata', 'metadata.google.internal', 'metadata.goog', 'instance-data', 'instance-data.ec2.internal', 'metadata.azure.internal']);

function v4Int(a: string): number {
  return a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

function inV4(ip: number, cidr: string): boolean {
  const [base, bits] = cidr.split('/') as [string, string];
  const mask = Number(bits) === 0 ? 0 : (0xffffffff << (32 - Number(bits))) >>> 0;
  return ((ip & mask) >>> 0) === ((v4Int(base) & mask) >>> 0);
}

function classifyV4(a: string): AddressClass {
  if (METADATA_V4.has(a)) return 'metadata';
  const ip = v4Int(a);
  if (inV4(ip, '0.0.0.0/8')) return 'unspecified';
  if (inV4(ip, '127.0.0.0/8')) return 'loopback';
  if (inV4(ip, '10.0.0.0/8') || inV4(ip, '172.16.0.0/12') || inV4(ip, '192.168.0.0/16') || inV4(ip, '100.64.0.0/10')) return 'private';
  if (inV4(ip, '169.254.0.0/16')) return 'link-local';
  if (inV4(ip, '224.0.0.0/4')) return 'multicast';
  for (const r of ['192.0.0.0/24', '192.0.2.0/24', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '240.0.0.0/4']) if (inV4(ip, r)) return 'reserved';
  return 'public';
}

/** Eight 16-bit groups of an IPv6 address (with an embedded dotted IPv4 tail). */
function v6Groups(a: string): number[] {
  let s = a.toLowerCase().split('%')[0]!;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted) {
    const n = v4Int(dotted[1]!);
    s = s.slice(0, -dotted[1]!.length) + `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = s.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? [] : Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...zeros, ...t].map((g) => parseInt(g, 16));
}

function classifyV6(a: string): AddressClass {
  const g = v6Groups(a);
  const v4tail = `${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`;
  const firstFiveZero = g.slice(0, 5).every((x) => x === 0);
  if (firstFiveZero && g[5] === 0xffff) return classifyV4(v4tail); // ::ffff:a.b.c.d
  if (g.slice(0, 4).every((x) => x === 0) && g[4] === 0xffff && g[5] === 0) return classifyV4(v4tail); // IPv4-translated ::ffff:0:a.b.c.d (RFC 2765)
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return classifyV4(v4tail); // NAT64
  if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 1) return 'reserved'; // local-use NAT64 64:ff9b:1::/48 (RFC 8215): reaches the operator's own IPv4
  if (g[0] === 0x2002) return 'reserved'; // 6to4 2002::/16 (RFC 3056): a relay delivers to the embedded IPv4 (2002:7f00:1:: → 127.0.0.1)
  if (g[0] === 0x2001 && g[1] === 0) return 'reserved'; // Teredo 2001::/32: tunnels to an IPv4 address the guard cannot see
  if (g.every((x) => x === 0)) return 'unspecified';
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return 'loopback';
  if (firstFiveZero && g[5] === 0) return classifyV4(v4tail); // deprecated IPv4-compatible ::a.b.c.d
  if (g[0] === 0xfd00 && g[1] === 0x0ec2 && g[7] === 0x254 && g.slice(2, 7).every((x) => x === 0)) return 'metadata';
  if ((g[0]! & 0xfe00) === 0xfc00) return 'private';
  if ((g[0]! & 0xffc0) === 0xfe80) return 'link-local';
  if ((g[0]! & 0xffc0) === 0xfec0) return 'private'; // site-local fec0::/10 (deprecated, still routed inside some networks)
  if ((g[0]! & 0xff00) === 0xff00) return 'multicast';
  if (g[0] === 0x2001 && g[1] === 0x0db8) return 'reserved';
  if (g[0] === 0x0100 && g.slice(1, 4).every((x) => x === 0)) return 'reserved';
  return 'public';
}

/**
 * @example
 * classifyAddress('169.254.169.254'); // 'metadata'
 * classifyAddress('::ffff:7f00:1');   // 'loopback'
 */
export function classifyAddress(address: string): AddressClass {
  const kind = isIP(address);
  if (kind === 4) return classifyV4(address);
  if (kind === 6) return classifyV6(address);
  return 'reserved';
}

export function isAddressAllowed(address: string, policy: OutboundPolicy = {}): boolean {
  const c = classifyAddress(address);
  return c === 'public' || (c === 'loopback' && policy.allowLoopback === true) || (c === 'private' && policy.allowPrivate === true);
}

const defaultResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

function refuse(reason: string, url: URL): ForbiddenError {
  return new ForbiddenError(`Outbound URL refused: ${reason}`, { details: { reason: 'SSRF_BLOCKED', why: reason, host: url.hostname } });
}

/**
 * Checks a URL and resolves its host; every resolved address must be allowed.
 * Returns the address to connect to (pin it: do not resolve again).
 */
export async function checkOutboundUrl(input: string | URL, policy: OutboundPolicy = {}): Promise<{ url: URL; address: string; family: 4 | 6 }> {
  const url = typeof input === 'string' ? new URL(input) : input;
  if (!(policy.schemes ?? ['http:', 'https:']).includes(url.protocol)) throw refuse(`scheme ${url.protocol} is not allowed`, url);
  if (url.username !== '' || url.password !== '') throw refuse('credentials in the URL', url);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const lowered = host.toLowerCase().replace(/\.$/, '');
  if (METADATA_HOSTS.has(lowered)) throw refuse('cloud metadata host', url);
  const literal = isIP(host);
  const addresses = literal !== 0 ? [{ address: host, family: literal }] : await (policy.resolver ?? defaultResolver)(lowered);
  if (addresses.length === 0) throw refuse('host does not resolve', url);
  for (const a of addresses) {
    if (!isAddressAllowed(a.address, policy)) throw refuse(`${classifyAddress(a.address)} address`, url);
  }
  const first = addresses[0]!;
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}
