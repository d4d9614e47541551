/** Address classification (SSRF ranges, unwrapped IPv6 forms), URL checks without DNS, and the agent URL allowlist. */
import { describe, expect, it } from 'vitest';
import { checkOutboundUrl, classifyAddress, createUrlAllowlist, isAddressAllowed } from '../../src/security/index.js';

describe('classifyAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['fd12:3456::1', 'private'],
    ['169.254.169.254', 'metadata'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['240.0.0.1', 'reserved'],
    ['2001:db8::1', 'reserved'],
    ['::ffff:0:7f00:1', 'loopback'],
    ['::ffff:0:169.254.169.254', 'metadata'],
    ['64:ff9b:1::7f00:1', 'reserved'],
    ['2002:7f00:1::', 'reserved'],
    ['2002:a9fe:a9fe::', 'reserved'],
    ['2002:808:808::1', 'reserved'],
    ['fec0::1', 'private'],
    ['2001::1', 'reserved'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'reserved'],
    ['8.8.8.8', 'public'],
    ['2606:4700::1111', 'public'],
    ['not-an-ip', 'reserved'],
  ])('%s → %s', (ip, cls) => {
    expect(classifyAddress(ip)).toBe(cls);
  });

  it('loopback and private only with explicit options; metadata never', () => {
    expect(isAddressAllowed('127.0.0.1')).toBe(false);
    expect(isAddressAllowed('127.0.0.1', { allowLoopback: true })).toBe(true);
    expect(isAddressAllowed('10.1.2.3', { allowPrivate: true })).toBe(true);
    expect(isAddressAllowed('169.254.169.254', { allowLoopback: true, allowPrivate: true })).toBe(false);
  });
});

describe('checkOutboundUrl', () => {
  const publicDns = () => Promise.resolve([{ address: '93.184.216.34', family: 4 }]);
  it.each([
    'http://127.0.0.1/hook',
    'http://[::1]/hook',
    'http://10.0.0.1/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://2130706433/hook', // 127.0.0.1 as a number
    'http://0x7f.0.0.1/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'ftp://example.com/hook',
    'file:///etc/passwd',
    'gopher://example.com/',
    'http://metadata.google.internal/computeMetadata/v1/',
    'http://user:pw@example.com/hook',
  ])('refuses %s', async (url) => {
    await expect(checkOutboundUrl(url, { resolver: publicDns })).rejects.toMatchObject({ code: 'FORBIDDEN', details: { reason: 'SSRF_BLOCKED' } });
  });

  it('refuses a hostname if any of its addresses is internal; returns the address to pin otherwise', async () => {
    const mixed = () => Promise.resolve([{ address: '93.184.216.34', family: 4 }, { address: '10.0.0.5', family: 4 }]);
    await expect(checkOutboundUrl('https://hooks.example.com/x', { resolver: mixed })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(checkOutboundUrl('https://hooks.example.com/x', { resolver: publicDns })).resolves.toMatchObject({ address: '93.184.216.34', family: 4 });
  });
});

describe('createUrlAllowlist', () => {
  const allowed = createUrlAllowlist(['https://research.internal:8443', 'https://agents.example.com/team-a', 'https://*.partners.example.com']);
  it.each([
    ['https://research.internal:8443', true],
    ['https://research.internal:8443/a2a/jsonrpc', true],
    ['http://research.internal:8443', false],
    ['https://research.internal:9443', false],
    ['https://agents.example.com/team-a/x', true],
    ['https://agents.example.com/team-ab', false],
    ['https://agents.example.com/team-b', false],
    ['https://x.partners.example.com/', true],
    ['https://partners.example.com.evil.com/', false],
    ['https://evilpartners.example.com/', false],
    ['https://user@research.internal:8443/', false],
    ['not a url', false],
  ])('%s → %s', (url, ok) => {
    expect(allowed(url)).toBe(ok);
  });
});
