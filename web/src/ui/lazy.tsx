import type { ComponentType, JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ErrorState, Loading } from './states';

/**
 * A page whose code loads on first use (its own chunk), with the loading
 * and error states of the other pages. A failed load (a deploy replaced the
 * chunk, the network dropped) can be retried.
 */
export function lazyPage<P extends object>(load: () => Promise<ComponentType<P>>): (props: P) => JSX.Element {
  let loaded: ComponentType<P> | undefined;
  let pending: Promise<ComponentType<P>> | undefined;
  return function LazyPage(props: P) {
    const [C, setC] = useState<ComponentType<P> | undefined>(() => loaded);
    const [error, setError] = useState<Error | undefined>();
    const [attempt, setAttempt] = useState(0);
    useEffect(() => {
      if (C) return;
      let live = true;
      pending ??= load().then((c) => (loaded = c));
      pending.then(
        (c) => live && setC(() => c),
        (e: unknown) => {
          pending = undefined;
          if (live) setError(new Error(`This page could not be loaded (${e instanceof Error ? e.message : String(e)}).`));
        },
      );
      return () => {
        live = false;
      };
    }, [attempt]);
    if (error)
      return (
        <ErrorState
          error={error}
          retry={() => {
            setError(undefined);
            setAttempt((n) => n + 1);
          }}
        />
      );
    if (!C) return <Loading />;
    return <C {...props} />;
  };
}
