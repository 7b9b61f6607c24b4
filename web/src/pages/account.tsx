import { useState } from 'preact/hooks';
import { ApiError, post } from '../lib/api';
import { navigate } from '../lib/router';
import { useSession, useTitle } from '../lib/session';

export function NewProjectPage() {
  useTitle('New project');
  const s = useSession();
  const [name, setName] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  if (s.me.user.role !== 'admin') {
    return (
      <div class="card">
        <h1>New project</h1>
        <p>Only instance admins create projects. Ask one to create it and invite you.</p>
      </div>
    );
  }
  return (
    <div class="stack">
      <div class="page-head">
        <div>
          <h1>New project</h1>
          <p>A project is one website or app: its events, replays, insights and members.</p>
        </div>
      </div>
      <form
        class="card form"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError('');
          try {
            const p = await post<{ id: number }>('/api/account/projects', { name });
            await s.reloadMe();
            navigate(`/p/${p.id}/overview`);
          } catch (err) {
            setError(err instanceof ApiError ? err.message : 'Could not create the project.');
          } finally {
            setBusy(false);
          }
        }}
      >
        <label>
          Project name
          <input name="project-name" required maxLength={200} value={name} placeholder="My shop" onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </label>
        {error ? (
          <div class="field-error" role="alert">
            {error}
          </div>
        ) : null}
        <div>
          <button class="primary" type="submit" disabled={busy}>
            {busy ? 'Creating…' : 'Create project'}
          </button>
        </div>
      </form>
    </div>
  );
}

export function AccountPage() {
  useTitle('Your account');
  const s = useSession();
  const [cur, setCur] = useState('');
  const [next, setNext] = useState('');
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  return (
    <div class="stack">
      <div class="page-head">
        <div>
          <h1>Your account</h1>
          <p>
            {s.me.user.name ? `${s.me.user.name} · ` : ''}
            {s.me.user.email} · {s.me.user.role === 'admin' ? 'instance admin' : 'member'}
          </p>
        </div>
      </div>
      <form
        class="card form"
        onSubmit={async (e) => {
          e.preventDefault();
          setMsg(null);
          try {
            await post('/api/me/password', { current_password: cur, new_password: next });
            await s.reloadMe();
            setCur('');
            setNext('');
            setMsg({ ok: true, text: 'Password changed. Your other devices were logged out.' });
          } catch (err) {
            setMsg({ ok: false, text: err instanceof ApiError ? err.message : 'Could not change the password.' });
          }
        }}
      >
        <h2>Change password</h2>
        <label>
          Current password
          <input type="password" autoComplete="current-password" required value={cur} onInput={(e) => setCur((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          New password <span class="help">At least 8 characters.</span>
          <input type="password" autoComplete="new-password" minLength={8} required value={next} onInput={(e) => setNext((e.target as HTMLInputElement).value)} />
        </label>
        {msg ? (
          <div class={msg.ok ? 'badge good' : 'field-error'} role={msg.ok ? 'status' : 'alert'}>
            {msg.text}
          </div>
        ) : null}
        <div>
          <button class="primary" type="submit">
            Change password
          </button>
        </div>
      </form>
    </div>
  );
}
