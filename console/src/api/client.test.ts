import { describe, expect, it, vi } from 'vitest';
import { ApiClient, ApiError, buildQuery, describeError, type Session, type SessionStore } from './client';

type Handler = (url: string, init: RequestInit) => { status: number; body?: unknown; headers?: Record<string, string> };

/* A fake manager: records every request and answers through the handler. */
function fakeFetch(handler: Handler) {
  const calls: { url: string; method: string; auth?: string; body?: unknown }[] = [];
  const fn = vi.fn(async (url: string | URL | Request, init: RequestInit = {}) => {
    const u = String(url);
    const headers = (init.headers ?? {}) as Record<string, string>;
    calls.push({ url: u, method: init.method ?? 'GET', auth: headers.Authorization, body: init.body ? JSON.parse(String(init.body)) : undefined });
    const r = handler(u, init);
    return new Response(r.body === undefined ? '' : JSON.stringify(r.body), { status: r.status, headers: r.headers });
  });
  return { fn: fn as unknown as typeof fetch, calls };
}

const memoryStore = (initial: Session | null = null): SessionStore & { value: Session | null } => ({
  value: initial,
  load() {
    return this.value;
  },
  save(s) {
    this.value = s;
  },
});

const pair = (n: number, expiresIn = 900) => ({
  access_token: `access-${n}`,
  refresh_token: `refresh-${n}`,
  token_type: 'Bearer',
  expires_in: expiresIn,
  refresh_expires_at: 0,
  user: { username: 'ana', role: 'analyst' },
});

describe('ApiClient', () => {
  it('logs in, keeps the session and sends the access token', async () => {
    const { fn, calls } = fakeFetch((url) => (url.endsWith('/auth/login') ? { status: 200, body: pair(1) } : { status: 200, body: { items: [], total: 0 } }));
    const store = memoryStore();
    const c = new ApiClient({ fetch: fn, store, now: () => 1_000_000 });
    const s = await c.login('ana', 'pw');
    expect(s.access).toBe('access-1');
    expect(s.accessExpiresAt).toBe(1_000_000 + 900_000);
    expect(store.value?.refresh).toBe('refresh-1');
    expect(calls[0].body).toEqual({ username: 'ana', password: 'pw' });
    await c.request('GET', '/hosts', { query: { status: 'online', tag: '', limit: 20 } });
    expect(calls[1].url).toBe('/api/v1/hosts?status=online&limit=20');
    expect(calls[1].auth).toBe('Bearer access-1');
  });

  it('on a 401 refreshes once and repeats the request with the new token', async () => {
    let refreshed = 0;
    const { fn, calls } = fakeFetch((url, init) => {
      const auth = (init.headers as Record<string, string>).Authorization;
      if (url.endsWith('/auth/refresh')) {
        refreshed++;
        return { status: 200, body: pair(2) };
      }
      return auth === 'Bearer access-2' ? { status: 200, body: { ok: true } } : { status: 401, body: { error: { code: 'unauthorized', message: 'token revoked' } } };
    });
    const c = new ApiClient({ fetch: fn, store: memoryStore({ access: 'access-1', refresh: 'refresh-1', accessExpiresAt: Date.now() + 600_000, user: { username: 'ana', role: 'analyst' } }) });
    /* Three requests fail together: one refresh serves them all. */
    const out = await Promise.all([c.request('GET', '/a'), c.request('GET', '/b'), c.request('GET', '/c')]);
    expect(out).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(refreshed).toBe(1);
    expect(calls.find((x) => x.url.endsWith('/auth/refresh'))?.body).toEqual({ refresh_token: 'refresh-1' });
    expect(c.current?.refresh).toBe('refresh-2');
  });

  it('refreshes ahead of the access token expiry', async () => {
    let now = 0;
    const { fn, calls } = fakeFetch((url) => (url.endsWith('/auth/refresh') ? { status: 200, body: pair(2) } : { status: 200, body: {} }));
    const c = new ApiClient({ fetch: fn, now: () => now, store: memoryStore({ access: 'access-1', refresh: 'refresh-1', accessExpiresAt: 100_000, user: { username: 'ana', role: 'analyst' } }) });
    now = 50_000;
    await c.request('GET', '/x');
    expect(calls.map((x) => x.url)).toEqual(['/api/v1/x']);
    now = 75_000; /* within 30 s of the end */
    await c.request('GET', '/x');
    expect(calls.map((x) => x.url)).toEqual(['/api/v1/x', '/api/v1/auth/refresh', '/api/v1/x']);
    expect(calls[2].auth).toBe('Bearer access-2');
  });

  it('ends the session when the refresh token is refused', async () => {
    const { fn } = fakeFetch(() => ({ status: 401, body: { error: { code: 'unauthorized', message: 'expired' } } }));
    const store = memoryStore({ access: 'a', refresh: 'r', accessExpiresAt: Date.now() + 600_000, user: { username: 'ana', role: 'analyst' } });
    const ended = vi.fn();
    const c = new ApiClient({ fetch: fn, store, onSessionEnd: ended });
    await expect(c.request('GET', '/x')).rejects.toMatchObject({ status: 401 });
    expect(store.value).toBeNull();
    expect(c.current).toBeNull();
    expect(ended).toHaveBeenCalled();
  });

  it('turns answers into ApiErrors with the server code, message and Retry-After', async () => {
    const { fn } = fakeFetch(() => ({ status: 429, body: { error: { code: 'too_many_attempts', message: 'slow down' } }, headers: { 'Retry-After': '30' } }));
    const c = new ApiClient({ fetch: fn });
    const e = await c.login('a', 'b').catch((x) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect(e).toMatchObject({ status: 429, code: 'too_many_attempts', message: 'slow down', retryAfter: 30 });
    expect(describeError(e)).toBe('Too many attempts. Try again in 30 s.');
  });

  it('reports an unreachable manager as status 0', async () => {
    const c = new ApiClient({ fetch: (async () => { throw new TypeError('Failed to fetch'); }) as unknown as typeof fetch });
    const e = await c.login('a', 'b').catch((x) => x);
    expect(e).toMatchObject({ status: 0 });
    expect(describeError(e)).toMatch(/Cannot reach the manager/);
  });

  it('without a session, refuses at once and says so', async () => {
    const { fn, calls } = fakeFetch(() => ({ status: 200, body: {} }));
    const c = new ApiClient({ fetch: fn });
    await expect(c.request('GET', '/x')).rejects.toMatchObject({ status: 401 });
    expect(calls).toHaveLength(0);
  });

  it('logs out: revokes both tokens on the manager and forgets them even if that fails', async () => {
    const { fn, calls } = fakeFetch(() => ({ status: 503, body: { error: { code: 'redis_unavailable', message: 'x' } } }));
    const store = memoryStore({ access: 'a', refresh: 'r', accessExpiresAt: Date.now() + 600_000, user: { username: 'ana', role: 'analyst' } });
    const c = new ApiClient({ fetch: fn, store });
    await c.logout();
    expect(calls[0]).toMatchObject({ url: '/api/v1/auth/logout', method: 'POST', auth: 'Bearer a', body: { refresh_token: 'r' } });
    expect(store.value).toBeNull();
  });
});

describe('describeError', () => {
  it('says what each status means', () => {
    expect(describeError(new ApiError(403, 'forbidden', 'needs analyst'))).toBe('Your role is not allowed to do this: needs analyst.');
    expect(describeError(new ApiError(503, 'store_unavailable', 'MongoDB is down'))).toMatch(/cannot reach its database or Redis/);
    expect(describeError(new ApiError(400, 'invalid_field', 'pid must be an integer'))).toBe('The manager refused the request (HTTP 400): pid must be an integer.');
    expect(describeError(new Error('boom'))).toBe('boom');
  });
});

describe('buildQuery', () => {
  it('leaves out empty values and encodes the rest', () => {
    expect(buildQuery({ a: undefined, b: null, c: '', d: 0, e: 'x y&z' })).toBe('?d=0&e=x+y%26z');
    expect(buildQuery({})).toBe('');
  });
});
