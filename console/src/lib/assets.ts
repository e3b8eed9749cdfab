/* Asset types (docs/data-types.md 5050-5062) and the fields shown first for each. */
import type { Asset } from '../api/types';

export interface AssetKind {
  type: string;
  label: string;
  /* What `name` is for this type (the field fleet search matches exactly). */
  nameIs: string;
  columns: string[];
}

export const ASSET_KINDS: AssetKind[] = [
  { type: 'process', label: 'Processes', nameIs: 'executable path', columns: ['pid', 'ppid', 'comm', 'exe', 'cmdline', 'username', 'rss_kib'] },
  { type: 'port', label: 'Ports', nameIs: 'listening port', columns: ['protocol', 'sip', 'sport', 'pid', 'comm', 'exe', 'username'] },
  { type: 'user', label: 'Users', nameIs: 'user name', columns: ['username', 'uid', 'gid', 'home', 'shell', 'password_status', 'last_login_time'] },
  { type: 'software', label: 'Packages', nameIs: 'package name', columns: ['name', 'sversion', 'source', 'arch', 'status'] },
  { type: 'cron', label: 'Cron', nameIs: 'command', columns: ['username', 'schedule', 'command', 'path'] },
  { type: 'service', label: 'Services', nameIs: 'unit name', columns: ['name', 'description', 'enabled', 'active', 'command', 'user'] },
  { type: 'container', label: 'Containers', nameIs: 'container name', columns: ['name', 'id', 'runtime', 'state', 'image_name', 'process_count'] },
  { type: 'kmod', label: 'Kernel modules', nameIs: 'module name', columns: ['name', 'size', 'refcount', 'used_by', 'state', 'taint'] },
  { type: 'interface', label: 'Interfaces', nameIs: 'interface name', columns: ['name', 'hardware_addr', 'state', 'addrs', 'mtu'] },
  { type: 'integrity', label: 'File integrity', nameIs: 'file path', columns: ['path'] },
  { type: 'app', label: 'Applications', nameIs: 'name', columns: ['name'] },
  { type: 'volume', label: 'Volumes', nameIs: 'name', columns: ['name'] },
  { type: 'sysctl', label: 'Sysctl', nameIs: 'name', columns: ['name'] },
];

export const HOST_TABS = ['process', 'port', 'user', 'software', 'cron', 'service', 'container', 'kmod'];

export const kindOf = (type: string): AssetKind =>
  ASSET_KINDS.find((k) => k.type === type) ?? { type, label: type, nameIs: 'name', columns: ['name'] };

/* The preferred columns present in these items, then up to `extra` other fields seen, so an
 * agent that reports more (or other) fields still shows them. Bookkeeping fields are left out. */
const HIDDEN = new Set(['package_seq', 'snapshot_index', 'snapshot_total']);
export function assetColumns(kind: AssetKind, items: Asset[], extra = 2): string[] {
  const seen = new Set<string>();
  for (const it of items) for (const k of Object.keys(it.fields ?? {})) if (!HIDDEN.has(k)) seen.add(k);
  const cols = kind.columns.filter((c) => seen.has(c));
  const others = [...seen].filter((k) => !cols.includes(k)).sort();
  return [...cols, ...others.slice(0, Math.max(0, extra))];
}
