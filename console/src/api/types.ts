/* Shapes of the manager's REST API (/api/v1, docs/api.md). Times are ms since the epoch. */

export type Role = 'read-only' | 'analyst' | 'admin';
export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';
export type AlertStatus = 'new' | 'in_progress' | 'resolved' | 'false_positive';
export type SubtaskStatus = 'pending' | 'sent' | 'succeed' | 'failed' | 'undeliverable';

export interface ListPage<T> {
  items: T[];
  total: number;
  limit?: number;
  offset?: number;
}

export interface LoginAnswer {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
  refresh_expires_at: number;
  user: { username: string; role: Role };
}

export interface Me {
  username: string;
  role: Role;
  expires_at?: number;
}

export interface PluginState {
  last_seen?: number;
  fields?: Record<string, string>;
}

export interface Host {
  agent_id: string;
  hostname?: string;
  version?: string;
  product?: string;
  agent_center?: string;
  intranet_ipv4?: string[] | string;
  extranet_ipv4?: string[] | string;
  intranet_ipv6?: string[] | string;
  first_seen?: number;
  last_seen?: number;
  online?: boolean;
  offline_since?: number;
  facts?: Record<string, string>;
  plugins?: Record<string, PluginState>;
  tags?: string[];
  open_alerts?: Partial<Record<Severity, number>>;
}

export interface Asset {
  id: string;
  agent_id: string;
  hostname?: string;
  type: string;
  data_type: number;
  name: string;
  fields: Record<string, string>;
  first_seen?: number;
  last_seen?: number;
}

export interface ChainEntry {
  pid?: number | string;
  ppid?: number | string;
  exe?: string;
  comm?: string;
  argv?: string;
  uid?: string | number;
}

export interface RuleInfo {
  id: string;
  name?: string;
  severity?: Severity;
  type?: string;
  attack?: string[];
  tags?: string[];
  description?: string;
  remediation?: string;
}

export interface Note {
  author: string;
  text: string;
  at: number;
}

export interface Alert {
  id: string;
  rule_id: string;
  rule_name?: string;
  severity: Severity;
  attack?: string[];
  agent_id: string;
  hostname?: string;
  data_type?: number;
  status: AlertStatus;
  assignee?: string;
  count?: number;
  first_seen?: number;
  last_seen?: number;
  detected_at?: number;
  created_at?: number;
  updated_at?: number;
}

export interface AlertDetail extends Alert {
  rule?: RuleInfo;
  event?: Record<string, string>;
  process_chain?: ChainEntry[];
  raw?: Record<string, unknown>;
  notes?: Note[];
}

export interface CountPair<K extends string> {
  count: number;
  [key: string]: string | number | null | undefined;
  __k?: K;
}

export interface AlertStats {
  since: number;
  by_severity: { severity: Severity; count: number }[];
  by_status: { status: AlertStatus; count: number }[];
  by_rule: { rule_id: string; count: number }[];
  by_host: { agent_id: string; count: number }[];
  by_hour: { hour: number; count: number }[];
}

export interface Overview {
  hosts: { total: number; online: number; offline: number };
  alerts: {
    new: number;
    in_progress: number;
    resolved: number;
    false_positive: number;
    open_critical: number;
    open_high: number;
    last_24h: number;
  };
  tasks: { pending: number; awaiting_result: number };
}

export interface WhitelistEntry {
  id: string;
  rules: string[];
  match: { field: string; value: string }[];
  comment?: string;
  from_alert?: string;
  created_by?: string;
  created_at?: number;
}

export interface HubsReport {
  found: number;
  accepted: number;
}

export interface Rule extends RuleInfo {
  enabled: boolean;
  [key: string]: unknown;
}

export interface RulesAnswer {
  rules: Rule[];
  disabled: string[];
  hub_reachable: boolean;
  version?: string;
}

export type TaskType = 'collect_now' | 'kill_process' | 'quarantine_file' | 'scan' | 'baseline';

export interface Task {
  id: string;
  type: TaskType | string;
  data?: string;
  hosts: number;
  created_by?: string;
  created_at?: number;
  counts?: Record<SubtaskStatus, number>;
  done?: boolean;
}

export interface Subtask {
  token: string;
  task_id: string;
  agent_id: string;
  status: SubtaskStatus | 'dispatching';
  attempts?: number;
  msg?: string;
  result?: unknown;
  created_at?: number;
  updated_at?: number;
}

export interface ServiceInstance {
  ip: string;
  port: number;
  health_addr: string;
  weight: number;
  health: 'ok' | 'failing' | 'unreachable';
  health_status: number;
}

export interface SystemStatus {
  manager: {
    instance: string;
    version: string;
    mongo: { status: string; error?: string };
    redis: { status: string };
    ingest?: Record<string, unknown>;
  };
  services: { name: string; instances: ServiceInstance[] }[];
  discovery_reachable: boolean;
}

export interface User {
  username: string;
  role: Role;
  disabled?: boolean;
  created_at?: number;
  created_by?: string;
  [key: string]: unknown;
}

export interface ApiToken {
  id: string;
  name: string;
  owner: string;
  role: Role;
  created_at?: number;
  expires_at?: number;
  last_used?: number;
  [key: string]: unknown;
}

export interface AuditEntry {
  id: string;
  at: number;
  actor?: string;
  role?: string;
  route?: string;
  method?: string;
  path?: string;
  status?: number;
  peer?: string;
  target?: string;
  detail?: unknown;
  [key: string]: unknown;
}
