/* The console's shared state: the API client, the session and the theme. */
import { createContext, useContext } from 'react';
import type { ApiClient, Session } from './api/client';
import type { Api } from './api/endpoints';
import type { Role } from './api/types';

export type ThemeName = 'light' | 'dark';

export interface AppState {
  client: ApiClient;
  api: Api;
  session: Session | null;
  setSession: (s: Session | null) => void;
  theme: ThemeName;
  setTheme: (t: ThemeName) => void;
}

export const AppContext = createContext<AppState | null>(null);

export function useApp(): AppState {
  const s = useContext(AppContext);
  if (!s) throw new Error('useApp outside AppContext');
  return s;
}

export const useApi = (): Api => useApp().api;

const RANK: Record<Role, number> = { 'read-only': 0, analyst: 1, admin: 2 };

/* Whether the logged-in user's role is at least `role` (the manager checks again). */
export function useCan(role: Role): boolean {
  const { session } = useApp();
  return !!session && RANK[session.user.role] >= RANK[role];
}
