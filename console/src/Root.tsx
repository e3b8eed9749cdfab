import { StyleProvider } from '@ant-design/cssinjs';
import { App as AntApp, ConfigProvider, theme as antdTheme } from 'antd';
import { lazy, Suspense, useEffect, useMemo, useState, type ReactNode } from 'react';
import { BrowserRouter, Navigate, Route, Routes, useLocation } from 'react-router';
import { ApiClient, browserSessionStore, type Session } from './api/client';
import { endpoints } from './api/endpoints';
import { AppContext, useApp, type ThemeName } from './app';
import { Shell } from './components/Shell';
import { Loading } from './components/States';
import { THEME_CLASS } from './themeClass';

/* Every page is its own chunk: the first load carries the shell only. */
const Login = lazy(() => import('./pages/Login'));
const Overview = lazy(() => import('./pages/Overview'));
const Hosts = lazy(() => import('./pages/Hosts'));
const HostDetail = lazy(() => import('./pages/HostDetail'));
const Alerts = lazy(() => import('./pages/Alerts'));
const Whitelist = lazy(() => import('./pages/Whitelist'));
const Rules = lazy(() => import('./pages/Rules'));
const Tasks = lazy(() => import('./pages/Tasks'));
const TaskDetail = lazy(() => import('./pages/TaskDetail'));
const Assets = lazy(() => import('./pages/Assets'));
const System = lazy(() => import('./pages/System'));

const THEME_KEY = 'rampart.theme';

/* Where antd would still write the few CSS-variable blocks it makes at run time: an element
 * outside the document, so nothing is inserted (the manager's CSP would refuse it) and the
 * build-time stylesheet, which holds the same blocks, applies. */
const detachedStyles = document.createElement('div');

function initialTheme(): ThemeName {
  const saved = localStorage.getItem(THEME_KEY);
  if (saved === 'light' || saved === 'dark') return saved;
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

function RequireSession({ children }: { children: ReactNode }) {
  const { session } = useApp();
  const loc = useLocation();
  if (!session) {
    const next = loc.pathname + loc.search;
    return <Navigate to={next === '/' ? '/login' : `/login?next=${encodeURIComponent(next)}`} replace />;
  }
  return <>{children}</>;
}

export function Root() {
  const [session, setSessionState] = useState<Session | null>(null);
  const client = useMemo(() => {
    const c = new ApiClient({ store: browserSessionStore(sessionStorage) });
    return c;
  }, []);
  const api = useMemo(() => endpoints(client), [client]);
  const [ready, setReady] = useState(false);
  const [theme, setThemeState] = useState<ThemeName>(initialTheme);

  useEffect(() => {
    setSessionState(client.current);
    client.onSessionEnd = () => setSessionState(null);
    setReady(true);
  }, [client]);

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem(THEME_KEY, theme);
  }, [theme]);

  const state = useMemo(
    () => ({
      client,
      api,
      session,
      setSession: setSessionState,
      theme,
      setTheme: setThemeState,
    }),
    [client, api, session, theme],
  );

  return (
    <StyleProvider container={detachedStyles}>
    <ConfigProvider
      theme={{
        /* Styles come from the build-time stylesheet: nothing is written at run time. */
        zeroRuntime: true,
        hashed: false,
        cssVar: { key: THEME_CLASS[theme] },
        algorithm: theme === 'dark' ? antdTheme.darkAlgorithm : antdTheme.defaultAlgorithm,
      }}
    >
      <AntApp className={`rp-app ${THEME_CLASS[theme]}`}>
        <AppContext.Provider value={state}>
          {ready && (
            <BrowserRouter>
              <Suspense fallback={<Loading what="the page" />}>
                <Routes>
                  <Route path="/login" element={<Login />} />
                  <Route
                    element={
                      <RequireSession>
                        <Shell />
                      </RequireSession>
                    }
                  >
                    <Route index element={<Overview />} />
                    <Route path="hosts" element={<Hosts />} />
                    <Route path="hosts/:id" element={<HostDetail />} />
                    <Route path="alerts" element={<Alerts />} />
                    <Route path="whitelist" element={<Whitelist />} />
                    <Route path="rules" element={<Rules />} />
                    <Route path="tasks" element={<Tasks />} />
                    <Route path="tasks/:id" element={<TaskDetail />} />
                    <Route path="assets" element={<Assets />} />
                    <Route path="system" element={<System />} />
                    <Route path="*" element={<Navigate to="/" replace />} />
                  </Route>
                </Routes>
              </Suspense>
            </BrowserRouter>
          )}
        </AppContext.Provider>
      </AntApp>
    </ConfigProvider>
    </StyleProvider>
  );
}
