/* List filters <-> the page's query string <-> the API's query parameters.
 *
 * The address bar holds a list's filters, so a filtered view can be bookmarked, shared and
 * survives a reload; anything malformed in it (a hand-edited link) falls back to the default
 * instead of reaching the API, which would refuse it. */
import type { AlertStatus, Severity } from '../api/types';
import type { Query } from '../api/client';

type Spec =
  | { kind: 'enum'; values: readonly string[]; def?: string }
  | { kind: 'string'; max: number }
  | { kind: 'int'; min: number; max: number; def?: number };

type Schema = Record<string, Spec>;
type Values<S extends Schema> = { [K in keyof S]?: S[K] extends { kind: 'int' } ? number : string };

function parse<S extends Schema>(schema: S, search: string | URLSearchParams): Values<S> {
  const p = typeof search === 'string' ? new URLSearchParams(search) : search;
  const out: Record<string, string | number> = {};
  for (const [k, spec] of Object.entries(schema)) {
    const raw = p.get(k);
    let v: string | number | undefined;
    if (raw !== null && raw !== '') {
      if (spec.kind === 'enum') v = spec.values.includes(raw) ? raw : undefined;
      else if (spec.kind === 'string') v = raw.length <= spec.max ? raw : undefined;
      else if (/^\d{1,16}$/.test(raw)) {
        const n = Number(raw);
        v = n >= spec.min && n <= spec.max ? n : undefined;
      }
    }
    if (v === undefined && 'def' in spec && spec.def !== undefined) v = spec.def;
    if (v !== undefined) out[k] = v;
  }
  return out as Values<S>;
}

/* Only what differs from the defaults, in the schema's order: short, stable links. */
function serialize<S extends Schema>(schema: S, values: Values<S>): string {
  const p = new URLSearchParams();
  for (const [k, spec] of Object.entries(schema)) {
    const v = (values as Record<string, string | number | undefined>)[k];
    if (v === undefined || v === '' || ('def' in spec && v === spec.def)) continue;
    p.set(k, String(v));
  }
  return p.toString();
}

export const SEVERITIES: readonly Severity[] = ['critical', 'high', 'medium', 'low', 'info'];
export const ALERT_STATUSES: readonly AlertStatus[] = ['new', 'in_progress', 'resolved', 'false_positive'];
export const TIME_RANGES = { '1h': 3_600_000, '24h': 86_400_000, '7d': 604_800_000, '30d': 2_592_000_000 } as const;
export type TimeRange = keyof typeof TIME_RANGES;
const PAGE_SIZES = { kind: 'int', min: 1, max: 500, def: 20 } as const;
const MAX_TIME = 4_102_444_800_000; /* 2100-01-01 */

const alertSchema = {
  status: { kind: 'enum', values: ALERT_STATUSES },
  severity: { kind: 'enum', values: SEVERITIES },
  rule_id: { kind: 'string', max: 64 },
  hostname: { kind: 'string', max: 255 },
  agent_id: { kind: 'string', max: 128 },
  assignee: { kind: 'string', max: 64 },
  range: { kind: 'enum', values: Object.keys(TIME_RANGES) },
  since: { kind: 'int', min: 0, max: MAX_TIME },
  until: { kind: 'int', min: 0, max: MAX_TIME },
  sort: { kind: 'enum', values: ['detected_at', 'severity', 'count', 'last_seen'], def: 'detected_at' },
  order: { kind: 'enum', values: ['desc', 'asc'], def: 'desc' },
  page: { kind: 'int', min: 1, max: 100_000, def: 1 },
  size: PAGE_SIZES,
} as const satisfies Schema;

export type AlertFilters = Values<typeof alertSchema>;

export const parseAlertFilters = (s: string | URLSearchParams): AlertFilters => parse(alertSchema, s);
export const alertFiltersToSearch = (f: AlertFilters): string => serialize(alertSchema, f);

/* The API's parameters: a relative range becomes `since` at the time of the request; an
 * explicit since/until wins over it. Page and size become offset and limit. */
export function alertFiltersToApi(f: AlertFilters, now: number): Query {
  const size = f.size ?? 20;
  const since = f.since ?? (f.range ? now - TIME_RANGES[f.range as TimeRange] : undefined);
  return {
    status: f.status,
    severity: f.severity,
    rule_id: f.rule_id,
    hostname: f.hostname,
    agent_id: f.agent_id,
    assignee: f.assignee,
    since,
    until: f.until,
    sort: f.sort,
    order: f.order,
    limit: size,
    offset: ((f.page ?? 1) - 1) * size,
  };
}

const hostSchema = {
  q: { kind: 'string', max: 255 },
  status: { kind: 'enum', values: ['online', 'offline'] },
  tag: { kind: 'string', max: 64 },
  os: { kind: 'string', max: 64 },
  sort: { kind: 'enum', values: ['hostname', 'last_seen', 'first_seen'], def: 'hostname' },
  order: { kind: 'enum', values: ['asc', 'desc'] },
  page: { kind: 'int', min: 1, max: 100_000, def: 1 },
  size: PAGE_SIZES,
} as const satisfies Schema;

export type HostFilters = Values<typeof hostSchema>;
export const parseHostFilters = (s: string | URLSearchParams): HostFilters => parse(hostSchema, s);
export const hostFiltersToSearch = (f: HostFilters): string => serialize(hostSchema, f);

/* The hosts API has no OS filter: with one set, the console asks for the largest page (500)
 * and filters and pages that itself (see Hosts page); otherwise the API pages. */
export function hostFiltersToApi(f: HostFilters): Query {
  const size = f.size ?? 20;
  const clientSide = !!f.os;
  return {
    hostname: f.q,
    status: f.status,
    tag: f.tag,
    sort: f.sort,
    order: f.order ?? (f.sort && f.sort !== 'hostname' ? 'desc' : 'asc'),
    limit: clientSide ? 500 : size,
    offset: clientSide ? 0 : ((f.page ?? 1) - 1) * size,
  };
}

/* A filter change starts again at page 1; paging keeps the filters. */
export function withFilter<T extends { page?: number }>(f: T, change: Partial<T>): T {
  const next = { ...f, ...change };
  if (!('page' in change)) delete next.page;
  return next;
}
