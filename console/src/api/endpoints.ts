/* One function per API operation the console uses (docs/api.md). */
import type { ApiClient, Query } from './client';
import type {
  Alert,
  AlertDetail,
  AlertStats,
  AlertStatus,
  ApiToken,
  Asset,
  AuditEntry,
  Host,
  HubsReport,
  ListPage,
  Me,
  Overview,
  Role,
  RulesAnswer,
  Subtask,
  SystemStatus,
  Task,
  User,
  WhitelistEntry,
} from './types';

export function endpoints(c: ApiClient) {
  const get = <T>(path: string, query?: Query, signal?: AbortSignal) =>
    c.request<T>('GET', path, { query, signal });
  const send = <T>(method: string, path: string, body?: unknown) =>
    c.request<T>(method, path, { body });
  const enc = encodeURIComponent;
  return {
    me: (s?: AbortSignal) => get<Me>('/auth/me', undefined, s),
    changePassword: (old_password: string, new_password: string) =>
      send('POST', '/auth/password', { old_password, new_password }),

    overview: (s?: AbortSignal) => get<Overview>('/overview', undefined, s),
    alertStats: (q: { since?: number; top?: number }, s?: AbortSignal) =>
      get<AlertStats>('/alerts/stats', q, s),

    hosts: (q: Query, s?: AbortSignal) => get<ListPage<Host>>('/hosts', q, s),
    host: (id: string, s?: AbortSignal) => get<Host>(`/hosts/${enc(id)}`, undefined, s),
    setHostTags: (id: string, tags: string[]) => send('PUT', `/hosts/${enc(id)}/tags`, { tags }),
    hostAssets: (id: string, q: Query, s?: AbortSignal) =>
      get<ListPage<Asset>>(`/hosts/${enc(id)}/assets`, q, s),
    assets: (q: Query, s?: AbortSignal) => get<ListPage<Asset>>('/assets', q, s),

    alerts: (q: Query, s?: AbortSignal) => get<ListPage<Alert>>('/alerts', q, s),
    alert: (id: string, s?: AbortSignal) => get<AlertDetail>(`/alerts/${enc(id)}`, undefined, s),
    updateAlert: (id: string, body: { status?: AlertStatus; assignee?: string; note?: string }) =>
      send('PATCH', `/alerts/${enc(id)}`, body),
    bulkAlerts: (ids: string[], body: { status?: AlertStatus; assignee?: string }) =>
      send<{ matched: number }>('POST', '/alerts/bulk', { ids, ...body }),

    whitelist: (q: Query, s?: AbortSignal) => get<ListPage<WhitelistEntry>>('/whitelist', q, s),
    createWhitelist: (body: {
      alert_id?: string;
      fields?: string[];
      match?: Record<string, string>;
      rules?: string[];
      comment?: string;
    }) => send<WhitelistEntry & { hubs?: HubsReport }>('POST', '/whitelist', body),
    deleteWhitelist: (id: string) => send<{ hubs?: HubsReport }>('DELETE', `/whitelist/${enc(id)}`),

    rules: (s?: AbortSignal) => get<RulesAnswer>('/rules', undefined, s),
    setRule: (id: string, enabled: boolean) =>
      send<{ id: string; enabled: boolean; hubs?: HubsReport }>(
        'POST',
        `/rules/${enc(id)}/${enabled ? 'enable' : 'disable'}`,
      ),

    tasks: (q: Query, s?: AbortSignal) => get<ListPage<Task>>('/tasks', q, s),
    task: (id: string, s?: AbortSignal) => get<Task>(`/tasks/${enc(id)}`, undefined, s),
    taskHosts: (id: string, q: Query, s?: AbortSignal) =>
      get<ListPage<Subtask>>(`/tasks/${enc(id)}/hosts`, q, s),
    createTask: (body: {
      type: string;
      hosts?: string[];
      tags?: string[];
      params?: Record<string, unknown>;
    }) => send<{ id: string; type: string; hosts: number }>('POST', '/tasks', body),

    systemStatus: (s?: AbortSignal) => get<SystemStatus>('/system/status', undefined, s),
    metrics: (s?: AbortSignal) => c.text('/metrics', s),
    users: (s?: AbortSignal) => get<ListPage<User>>('/users', undefined, s),
    createUser: (username: string, password: string, role: Role) =>
      send('POST', '/users', { username, password, role }),
    updateUser: (username: string, body: { role?: Role; password?: string; disabled?: boolean }) =>
      send('PATCH', `/users/${enc(username)}`, body),
    deleteUser: (username: string) => send('DELETE', `/users/${enc(username)}`),
    tokens: (s?: AbortSignal) => get<{ items: ApiToken[] }>('/tokens', undefined, s),
    createToken: (name: string, role?: Role, expires_in_days?: number) =>
      send<{ id: string; token: string; name: string; role: Role; expires_at: number }>(
        'POST',
        '/tokens',
        { name, role, expires_in_days },
      ),
    deleteToken: (id: string) => send('DELETE', `/tokens/${enc(id)}`),
    audit: (q: Query, s?: AbortSignal) => get<ListPage<AuditEntry>>('/audit', q, s),
  };
}

export type Api = ReturnType<typeof endpoints>;
