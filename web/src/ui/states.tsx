import { Component, type ComponentChildren } from 'preact';
import { ApiError } from '../lib/api';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div class="state" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" />
      {label}
    </div>
  );
}

/** A thin bar for a refresh that keeps the previous result on screen. */
export function Progress({ active }: { active: boolean }) {
  if (!active) return null;
  return <div class="progress" role="progressbar" aria-label="Updating" />;
}

export function ErrorState({ error, retry }: { error: Error; retry?: () => void }) {
  let msg = error.message;
  if (error instanceof ApiError && error.status === 404) msg = 'Not found: it may have been deleted, or you have no access to it.';
  return (
    <div class="state error" role="alert">
      <strong>Something went wrong.</strong> {msg}
      {error instanceof ApiError && error.field ? <span class="small"> (field: <code>{error.field}</code>)</span> : null}
      {retry ? (
        <>
          {' '}
          <button type="button" class="small" onClick={retry}>
            Try again
          </button>
        </>
      ) : null}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="state">
      <strong>{title}</strong>
      {children ? <div class="small">{children}</div> : null}
    </div>
  );
}

export function Stat({ label, value, hint }: { label: string; value: string; hint?: string }) {
  return (
    <div class="card stat">
      <div class="label">{label}</div>
      <div class="value">{value}</div>
      {hint ? <div class="hint">{hint}</div> : null}
    </div>
  );
}

/**
 * Keeps a failing page from blanking the whole app. Mount it with a key per
 * page, so that navigating away starts afresh.
 */
export class ErrorBoundary extends Component<{ children: ComponentChildren }, { error: Error | null }> {
  override state = { error: null as Error | null };
  static getDerivedStateFromError(error: Error) {
    return { error };
  }
  override componentDidCatch(error: Error) {
    console.error('sightline: page failed', error);
  }
  override render() {
    if (this.state.error) {
      return <ErrorState error={new Error(`This page failed to render (${this.state.error.message}).`)} retry={() => this.setState({ error: null })} />;
    }
    return this.props.children;
  }
}
