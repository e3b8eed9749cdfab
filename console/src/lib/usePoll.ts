/* Loads data and keeps it fresh: fetches when the inputs change, then every intervalMs while
 * the tab is visible (and at once when it becomes visible again). The last good data stays on
 * screen during a refresh and after a failed one, with the error beside it. */
import { useCallback, useEffect, useRef, useState } from 'react';

export interface Polled<T> {
  data: T | undefined;
  error: unknown;
  /* True until the first answer for the current inputs. */
  loading: boolean;
  updatedAt: number | undefined;
  reload: () => void;
}

export function usePoll<T>(
  fn: (signal: AbortSignal) => Promise<T>,
  deps: readonly unknown[],
  intervalMs = 0,
): Polled<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean; at?: number }>({
    loading: true,
  });
  const fnRef = useRef(fn);
  fnRef.current = fn;
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);

  useEffect(() => {
    setState((s) => ({ ...s, loading: true }));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);

  useEffect(() => {
    let ctl: AbortController | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    const run = async () => {
      clearTimeout(timer);
      ctl?.abort();
      const mine = new AbortController();
      ctl = mine;
      try {
        const data = await fnRef.current(mine.signal);
        if (!mine.signal.aborted) setState({ data, loading: false, at: Date.now() });
      } catch (error) {
        if (!mine.signal.aborted) setState((s) => ({ ...s, error, loading: false }));
      }
      if (!stopped && intervalMs > 0 && !mine.signal.aborted)
        timer = setTimeout(() => {
          if (!document.hidden) void run();
        }, intervalMs);
    };
    const onVisible = () => {
      if (!document.hidden && intervalMs > 0) void run();
    };
    void run();
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      stopped = true;
      clearTimeout(timer);
      ctl?.abort();
      document.removeEventListener('visibilitychange', onVisible);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick, intervalMs]);

  return { data: state.data, error: state.error, loading: state.loading, updatedAt: state.at, reload };
}
