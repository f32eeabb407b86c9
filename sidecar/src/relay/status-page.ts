/** The relay's HTML status page (`GET /`): version, cache, DHT and request counters. */
import type { RelayStats } from './relay-stats.ts';

/** What the status page shows besides the counters. */
export interface StatusInfo {
  version: string;
  cacheSize: number;
  cacheCapacity: number;
  hotSize: number;
  /** null when the relay runs without a DHT. */
  dhtNodes: number | null;
  rateLimit: string;
  dhtRateLimit: string;
  republishPopular: boolean;
  dohUpstream: string | null;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function formatUptime(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${d > 0 ? `${d}d ` : ''}${h}h ${m}m ${s}s`;
}

/** Renders the page. All dynamic text is escaped. */
export function renderStatusPage(info: StatusInfo, stats: RelayStats, now: number = Date.now()): string {
  const rows: [string, string | number][] = [
    ['Version', info.version],
    ['Uptime', formatUptime(stats.uptimeSeconds(now))],
    ['Cached packets', `${info.cacheSize} / ${info.cacheCapacity} (${info.hotSize} in memory)`],
    ['DHT nodes', info.dhtNodes === null ? 'no DHT (cache only)' : info.dhtNodes],
    ['Rate limit (all requests, per IP)', info.rateLimit],
    ['Rate limit (DHT requests, per IP)', info.dhtRateLimit],
    ['Republish popular records', info.republishPopular ? 'on' : 'off'],
    ['DoH upstream', info.dohUpstream ?? 'none (pkarr names only)'],
    ['Requests', stats.requests],
    ['GET / PUT / DoH', `${stats.gets} / ${stats.puts} / ${stats.dohQueries}`],
    ['Cache hits', stats.cacheHits],
    ['DHT lookups / puts / republished', `${stats.dhtLookups} / ${stats.dhtPuts} / ${stats.republished}`],
    ['304 Not Modified', stats.notModified],
    ['429 Too Many Requests', stats.rateLimited],
    ['Responses by status', [...stats.byStatus.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}: ${n}`).join(', ') || '-'],
  ];
  const body = rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(String(v))}</td></tr>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Pkarr relay</title>
<style>body{font-family:system-ui,sans-serif;margin:2em}th{text-align:left;padding-right:1em}</style></head>
<body><h1>Pkarr relay</h1>
<p>A <a href="https://pkarr.org">pkarr</a> relay backed by the Mainline DHT: <code>PUT /&lt;z32&gt;</code>, <code>GET /&lt;z32&gt;[?policy=CacheOnly|CacheFirst|NetworkOnly]</code>, DNS-over-HTTPS at <code>/dns-query</code>.</p>
<table>
${body}
</table></body></html>
`;
}
