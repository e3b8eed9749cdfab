/* Formatting shared by every page: times, sizes, severities, statuses. */
import type { AlertStatus, Severity, SubtaskStatus } from '../api/types';

const pad = (n: number) => String(n).padStart(2, '0');

/* "2026-11-23 18:30:05" in the browser's time zone; "–" when unknown. */
export function formatTime(ms: number | undefined | null): string {
  if (!ms || !Number.isFinite(ms)) return '–';
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/* "just now", "5 s ago", "3 min ago", "2 h ago", "4 d ago"; future times say "in ...". */
export function formatAgo(ms: number | undefined | null, now: number = Date.now()): string {
  if (!ms || !Number.isFinite(ms)) return 'never';
  const d = now - ms;
  const a = Math.abs(d);
  let s: string;
  if (a < 5_000) return 'just now';
  if (a < 60_000) s = `${Math.floor(a / 1000)} s`;
  else if (a < 3_600_000) s = `${Math.floor(a / 60_000)} min`;
  else if (a < 86_400_000) s = `${Math.floor(a / 3_600_000)} h`;
  else s = `${Math.floor(a / 86_400_000)} d`;
  return d >= 0 ? `${s} ago` : `in ${s}`;
}

export function formatBytes(n: number | string | undefined | null): string {
  const v = typeof n === 'string' ? Number(n) : n;
  if (v === undefined || v === null || !Number.isFinite(v) || v < 0) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let x = v;
  let u = 0;
  while (x >= 1024 && u < units.length - 1) {
    x /= 1024;
    u++;
  }
  return `${u === 0 ? x : x.toFixed(x < 10 ? 1 : 0)} ${units[u]}`;
}

export function formatNumber(n: number | undefined | null): string {
  if (n === undefined || n === null || !Number.isFinite(n)) return '–';
  return n.toLocaleString('en-US');
}

export const SEVERITY_ORDER: Record<Severity, number> = { critical: 4, high: 3, medium: 2, low: 1, info: 0 };
export const SEVERITY_COLOR: Record<Severity, string> = {
  critical: '#cf1322',
  high: '#fa541c',
  medium: '#faad14',
  low: '#1677ff',
  info: '#8c8c8c',
};
export const SEVERITY_LABEL: Record<Severity, string> = {
  critical: 'Critical',
  high: 'High',
  medium: 'Medium',
  low: 'Low',
  info: 'Info',
};

export const STATUS_LABEL: Record<AlertStatus, string> = {
  new: 'New',
  in_progress: 'In progress',
  resolved: 'Resolved',
  false_positive: 'False positive',
};

export const SUBTASK_LABEL: Record<SubtaskStatus | 'dispatching', string> = {
  pending: 'Waiting to be sent',
  dispatching: 'Being sent',
  sent: 'Sent, awaiting result',
  succeed: 'Succeeded',
  failed: 'Failed',
  undeliverable: 'Undeliverable',
};

export const TASK_LABEL: Record<string, string> = {
  collect_now: 'Collect assets now',
  kill_process: 'Kill process',
  quarantine_file: 'Quarantine file',
  scan: 'Malware scan',
  baseline: 'Baseline check',
};

/* Day buckets (local midnight) of the last `days` days, oldest first, from hourly counts:
 * the 7-day trend. Hours outside the window are ignored; empty days count 0. */
export function dailyTrend(
  byHour: { hour: number; count: number }[],
  now: number,
  days = 7,
): { day: number; label: string; count: number }[] {
  const today = new Date(now);
  today.setHours(0, 0, 0, 0);
  const out: { day: number; label: string; count: number }[] = [];
  for (let i = days - 1; i >= 0; i--) {
    const d = new Date(today);
    d.setDate(today.getDate() - i);
    out.push({ day: d.getTime(), label: `${pad(d.getMonth() + 1)}-${pad(d.getDate())}`, count: 0 });
  }
  for (const h of byHour ?? []) {
    if (typeof h?.hour !== 'number' || typeof h.count !== 'number') continue;
    for (let i = out.length - 1; i >= 0; i--) {
      if (h.hour >= out[i].day) {
        /* The last day ends 25 h after its midnight at most (a daylight-saving change). */
        const end = i + 1 < out.length ? out[i + 1].day : out[i].day + 90_000_000;
        if (h.hour < end) out[i].count += h.count;
        break;
      }
    }
  }
  return out;
}

/* Lists from the API may be arrays or comma-separated strings (heartbeat facts). */
export function asList(v: string[] | string | undefined | null): string[] {
  if (!v) return [];
  if (Array.isArray(v)) return v.filter(Boolean);
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

/* A host's addresses of one kind: the host record's list, else the heartbeat's. */
export function hostAddrs(
  h: { facts?: Record<string, string> } & Partial<Record<'intranet_ipv4' | 'extranet_ipv4' | 'intranet_ipv6', string[] | string>>,
  key: 'intranet_ipv4' | 'extranet_ipv4' | 'intranet_ipv6',
): string[] {
  const own = asList(h[key]);
  return own.length ? own : asList(h.facts?.[key]);
}

/* Plural-aware count: "1 alert", "3 alerts". */
export function plural(n: number, word: string): string {
  return `${formatNumber(n)} ${word}${n === 1 ? '' : 's'}`;
}

/* "Debian 12.8" from heartbeat facts; '' when the agent did not say. */
export function osName(facts: Record<string, string> | undefined): string {
  if (!facts) return '';
  const name = facts.platform_name || facts.platform || '';
  const ver = facts.platform_version || '';
  return [name, ver].filter(Boolean).join(' ');
}

/* A few Prometheus text-format samples: name{labels} value lines, comments skipped. */
export function parsePrometheus(text: string): { name: string; labels: string; value: number }[] {
  const out: { name: string; labels: string; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const value = Number(m[3]);
    if (Number.isNaN(value)) continue;
    out.push({ name: m[1], labels: m[2] ? m[2].slice(1, -1) : '', value });
  }
  return out;
}
