import { useEffect, useState } from "react";
import { get, HttpError, onSessionChange, session } from "./api";

export function useSession() {
  const [s, setS] = useState(session());
  useEffect(() => onSessionChange(() => setS(session())), []);
  return s;
}

export type Loaded<T> = { data: T | null; error: HttpError | null; loading: boolean };

/** GETs `path` (null: nothing yet) with the current credential. */
export function useGet<T>(path: string | null): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({ data: null, error: null, loading: path !== null });
  useEffect(() => {
    if (path === null) return;
    const ctrl = new AbortController();
    setState((s) => ({ ...s, loading: true, error: null }));
    get<T>(path, ctrl.signal).then(
      (data) => setState({ data, error: null, loading: false }),
      (error: unknown) => {
        if (ctrl.signal.aborted) return;
        const e = error instanceof HttpError ? error : new HttpError(0, "network", String(error));
        setState({ data: null, error: e, loading: false });
      },
    );
    return () => ctrl.abort();
  }, [path]);
  return state;
}
