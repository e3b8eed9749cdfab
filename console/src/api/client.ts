/* The REST client: bearer tokens, one refresh at a time when the access token expires, and
 * errors that say in words what went wrong. No React here, so it is unit-tested directly. */
import type { LoginAnswer, Role } from './types';

export interface Session {
  access: string;
  refresh: string;
  /* When the access token stops working (ms since the epoch, client clock). */
  accessExpiresAt: number;
  user: { username: string; role: Role };
}

export interface SessionStore {
  load(): Session | null;
  save(s: Session | null): void;
}

export type Query = Record<string, string | number | boolean | undefined | null>;

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly retryAfter?: number;
  constructor(status: number, code: string, message: string, retryAfter?: number) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/* A sentence for an operator: what happened and, where it helps, what to do. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) {
    const server = err.message ? `: ${err.message}` : '';
    switch (err.status) {
      case 0:
        return 'Cannot reach the manager. Check that it is running and that this browser can reach it.';
      case 401:
        return 'Your session has ended. Log in again.';
      case 403:
        return `Your role is not allowed to do this${server}.`;
      case 404:
        return `Not found${server}.`;
      case 409:
        return `Conflict${server}.`;
      case 413:
        return 'The request is too large for the manager.';
      case 429:
        return `Too many attempts. Try again${err.retryAfter ? ` in ${err.retryAfter} s` : ' later'}.`;
      case 503:
        return `The manager cannot reach its database or Redis right now${server}. It retries by itself.`;
      default:
        if (err.status >= 500) return `The manager failed (HTTP ${err.status})${server}.`;
        return `The manager refused the request (HTTP ${err.status})${server}.`;
    }
  }
  if (err instanceof Error && err.name === 'AbortError') return 'The request was cancelled.';
  if (err instanceof Error) return err.message;
  return String(err);
}

export function buildQuery(q?: Query): string {
  if (!q) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === null || v === '') continue;
    p.set(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

export const browserSessionStore = (storage: Storage, key = 'rampart.session'): SessionStore => ({
  load() {
    try {
      const raw = storage.getItem(key);
      return raw ? (JSON.parse(raw) as Session) : null;
    } catch {
      return null;
    }
  },
  save(s) {
    if (s) storage.setItem(key, JSON.stringify(s));
    else storage.removeItem(key);
  },
});

export interface ClientOptions {
  base?: string;
  fetch?: typeof fetch;
  store?: SessionStore;
  now?: () => number;
  /* Called when the session ends without the user asking (refresh refused). */
  onSessionEnd?: () => void;
}

/* Refresh this long before the access token's end, so no request carries a dying token. */
const REFRESH_MARGIN_MS = 30_000;

export class ApiClient {
  private readonly base: string;
  private readonly fetchFn: typeof fetch;
  private readonly store?: SessionStore;
  private readonly now: () => number;
  private session: Session | null;
  private refreshing: Promise<Session | null> | null = null;
  onSessionEnd?: () => void;

  constructor(opts: ClientOptions = {}) {
    this.base = opts.base ?? '/api/v1';
    this.fetchFn = opts.fetch ?? ((...a) => globalThis.fetch(...a));
    this.store = opts.store;
    this.now = opts.now ?? Date.now;
    this.onSessionEnd = opts.onSessionEnd;
    this.session = this.store?.load() ?? null;
  }

  get current(): Session | null {
    return this.session;
  }

  private setSession(s: Session | null) {
    this.session = s;
    this.store?.save(s);
  }

  private fromLogin(a: LoginAnswer): Session {
    return {
      access: a.access_token,
      refresh: a.refresh_token,
      accessExpiresAt: this.now() + a.expires_in * 1000,
      user: a.user,
    };
  }

  async login(username: string, password: string): Promise<Session> {
    const a = await this.raw<LoginAnswer>('POST', '/auth/login', { body: { username, password } });
    const s = this.fromLogin(a);
    this.setSession(s);
    return s;
  }

  /* Revokes both tokens on the manager (best effort) and forgets the session. */
  async logout(): Promise<void> {
    const s = this.session;
    this.setSession(null);
    if (!s) return;
    try {
      await this.raw('POST', '/auth/logout', { body: { refresh_token: s.refresh }, token: s.access });
    } catch {
      /* The tokens expire by themselves; the local session is gone either way. */
    }
  }

  /* One refresh at a time: concurrent callers share it. Resolves null when refused. */
  refresh(): Promise<Session | null> {
    if (this.refreshing) return this.refreshing;
    const s = this.session;
    if (!s) return Promise.resolve(null);
    this.refreshing = (async () => {
      try {
        const a = await this.raw<LoginAnswer>('POST', '/auth/refresh', {
          body: { refresh_token: s.refresh },
        });
        const next = this.fromLogin(a);
        this.setSession(next);
        return next;
      } catch (e) {
        if (e instanceof ApiError && (e.status === 401 || e.status === 400)) {
          this.setSession(null);
          this.onSessionEnd?.();
          return null;
        }
        throw e;
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  async request<T>(
    method: string,
    path: string,
    opts: { query?: Query; body?: unknown; signal?: AbortSignal } = {},
  ): Promise<T> {
    let s = this.session;
    if (s && s.accessExpiresAt - REFRESH_MARGIN_MS <= this.now()) s = (await this.refresh()) ?? null;
    if (!s) {
      this.onSessionEnd?.();
      throw new ApiError(401, 'unauthorized', 'not logged in');
    }
    try {
      return await this.raw<T>(method, path, { ...opts, token: s.access });
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 401) throw e;
      /* Revoked or expired early (clock skew, a password change elsewhere): refresh once. */
      const again = await this.refresh();
      if (!again) throw e;
      return this.raw<T>(method, path, { ...opts, token: again.access });
    }
  }

  /* GET of a text resource outside /api/v1 (e.g. /metrics). */
  async text(path: string, signal?: AbortSignal): Promise<string> {
    let res: Response;
    try {
      res = await this.fetchFn(path, { signal });
    } catch (e) {
      if (e instanceof Error && e.name === 'AbortError') throw e;
      throw new ApiError(0, 'unreachable', '');
    }
    if (!res.ok) throw new ApiError(res.status, 'http', res.statusText);
    return res.text();
  }

  private async raw<T>(
    method: string,
    path: string,
    opts: { query?: Query; body?: unknown; signal?: AbortSignal; token?: string },
  ): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
    let body: string | undefined;
    if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    let res: Response;
    try {
      res = await this.fetchFn(this.base + path + buildQuery(opts.query), {
        method,
        headers,
        body,
        signal: opts.signal,
      });
    } catch (e) {
      if (e instanceof Error && e.name === 'AbortError') throw e;
      throw new ApiError(0, 'unreachable', '');
    }
    const text = await res.text();
    let json: unknown = undefined;
    if (text) {
      try {
        json = JSON.parse(text);
      } catch {
        if (res.ok) throw new ApiError(res.status, 'bad_answer', 'the manager answered something that is not JSON');
      }
    }
    if (!res.ok) {
      const err = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
      const ra = Number(res.headers.get('Retry-After'));
      throw new ApiError(
        res.status,
        err?.code ?? 'http',
        err?.message ?? res.statusText,
        Number.isFinite(ra) && ra > 0 ? ra : undefined,
      );
    }
    return json as T;
  }
}
