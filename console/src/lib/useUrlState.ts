/* A list's filters kept in the address bar (see query.ts). `keep` names parameters that are
 * not filters (e.g. the open alert) and survive a filter change. */
import { useCallback, useMemo } from 'react';
import { useSearchParams } from 'react-router';

export function useUrlState<F>(
  parse: (s: URLSearchParams) => F,
  serialize: (f: F) => string,
  keep: readonly string[] = [],
): [F, (next: F) => void] {
  const [params, setParams] = useSearchParams();
  const key = params.toString();
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const value = useMemo(() => parse(new URLSearchParams(key)), [key]);
  const set = useCallback(
    (next: F) => {
      const out = new URLSearchParams(serialize(next));
      for (const k of keep) {
        const v = params.get(k);
        if (v !== null) out.set(k, v);
      }
      setParams(out);
    },
    [params, setParams, serialize, keep],
  );
  return [value, set];
}
