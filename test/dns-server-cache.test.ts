/** The forward cache of `pkarr-sidecar dns` (dns/forward-cache.ts), with a fake clock. */
import type { Answer } from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { ForwardCache, MAX_CACHED_ANSWER_BYTES, cacheTtl, questionKey, type UpstreamAnswer } from '../sidecar/src/dns/forward-cache.ts';
import { mayForwardFor } from '../sidecar/src/dns/query-handler.ts';

const a = (ttl: number): Answer => ({ type: 'A', name: 'example.com', ttl, data: '192.0.2.1' });
const soa = (ttl: number, minimum: number): Answer => ({ type: 'SOA', name: 'com', ttl, data: { mname: 'a', rname: 'b', serial: 1, refresh: 1, retry: 1, expire: 1, minimum } });
const answer = (over: Partial<UpstreamAnswer>): UpstreamAnswer => ({ rcode: 0, answers: [], authorities: [], additionals: [], size: 100, ...over });

describe('forward cache', () => {
  it('keeps an answer for its smallest TTL, counting TTLs down, capped at maxTtl', () => {
    let now = 0;
    const cache = new ForwardCache(10, 3600, () => now);
    cache.put('k', answer({ answers: [a(77), a(120)] }));
    now = 30_500;
    const hit = cache.get('k');
    expect(hit?.remaining).toBe(47);
    expect(hit?.answer.answers.map((r) => (r as { ttl: number }).ttl)).toEqual([47, 90]);
    now = 77_000;
    expect(cache.get('k')).toBeUndefined();
    expect(cacheTtl(answer({ answers: [a(100_000)] }), 3600)).toBe(3600);
  });

  it('negative answers: min(SOA TTL, SOA minimum); nothing to take a TTL from, SERVFAIL, or too large: not cached', () => {
    expect(cacheTtl(answer({ rcode: 3, authorities: [soa(900, 60)] }), 86_400)).toBe(60);
    expect(cacheTtl(answer({ rcode: 0, authorities: [soa(30, 600)] }), 86_400)).toBe(30);
    expect(cacheTtl(answer({ rcode: 3 }), 86_400)).toBe(0);
    expect(cacheTtl(answer({ rcode: 2, answers: [a(60)] }), 86_400)).toBe(0);
    expect(cacheTtl(answer({ answers: [a(60)], size: MAX_CACHED_ANSWER_BYTES + 1 }), 86_400)).toBe(0);
    const cache = new ForwardCache(10, 86_400, () => 0);
    cache.put('servfail', answer({ rcode: 2, answers: [a(60)] }));
    expect(cache.get('servfail')).toBeUndefined();
  });

  it('is bounded (least recently used out) and keys questions case-insensitively, by type, class and CD', () => {
    const cache = new ForwardCache(2, 86_400, () => 0);
    cache.put('a', answer({ answers: [a(60)] }));
    cache.put('b', answer({ answers: [a(60)] }));
    cache.get('a');
    cache.put('c', answer({ answers: [a(60)] }));
    expect(cache.size).toBe(2);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    expect(questionKey({ name: 'Example.COM.', type: 'A' }, false)).toBe(questionKey({ name: 'example.com', type: 'A', class: 'IN' }, false));
    expect(questionKey({ name: 'example.com', type: 'A' }, false)).not.toBe(questionKey({ name: 'example.com', type: 'AAAA' }, false));
    expect(questionKey({ name: 'example.com', type: 'A' }, false)).not.toBe(questionKey({ name: 'example.com', type: 'A' }, true));
  });
});

describe('who gets ordinary names forwarded', () => {
  it('loopback, private, CGNAT and link-local sources only: no open resolver', () => {
    for (const ok of ['127.0.0.1', '10.1.2.3', '172.31.0.9', '192.168.1.20', '100.64.0.1', '169.254.3.4', '::1', 'fd00::5', 'fe80::1']) expect(mayForwardFor(ok)).toBe(true);
    for (const no of ['8.8.8.8', '172.32.0.1', '203.0.113.9', '2001:db8::1', '2a00::1', 'unknown', '']) expect(mayForwardFor(no)).toBe(false);
  });
});
