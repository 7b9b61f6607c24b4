import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError, get, post } from '../lib/api';
import { useAsync } from '../lib/hooks';
import type { Me } from '../lib/session';
import { useTitle } from '../lib/session';
import { Logo } from '../ui/link';
import { ErrorState, Loading } from '../ui/states';

function AuthCard({ title, children }: { title: string; children: ComponentChildren }) {
  useTitle(title);
  return (
    <main class="auth">
      <div class="card">
        <div class="brand">
          <Logo /> Sightline
        </div>
        <h1>{title}</h1>
        {children}
      </div>
    </main>
  );
}

function FormError({ error }: { error: string }) {
  if (!error) return null;
  return (
    <div class="field-error" role="alert">
      {error}
    </div>
  );
}

function message(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  return 'Something went wrong. Try again.';
}

export function SetupPage({ adminKey, onDone }: { adminKey: boolean; onDone: (me: Me) => void }) {
  const [f, setF] = useState({ name: '', email: '', password: '', confirm: '', admin_key: '' });
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof f) => (e: Event) => setF({ ...f, [k]: (e.target as HTMLInputElement).value });
  return (
    <AuthCard title="Welcome to Sightline">
      <p class="muted">Create the first account. It will be the administrator of this server.</p>
      <form
        class="form"
        onSubmit={async (e) => {
          e.preventDefault();
          if (f.password !== f.confirm) {
            setError('The two passwords differ.');
            return;
          }
          setBusy(true);
          setError('');
          try {
            onDone(await post<Me>('/api/setup', { name: f.name, email: f.email, password: f.password, admin_key: f.admin_key }));
          } catch (err) {
            setError(message(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <label>
          Your name
          <input name="name" autoComplete="name" value={f.name} onInput={set('name')} />
        </label>
        <label>
          E-mail
          <input name="email" type="email" autoComplete="username" required value={f.email} onInput={set('email')} />
        </label>
        <label>
          Password <span class="help">At least 8 characters.</span>
          <input name="password" type="password" autoComplete="new-password" minLength={8} required value={f.password} onInput={set('password')} />
        </label>
        <label>
          Repeat the password
          <input name="confirm" type="password" autoComplete="new-password" required value={f.confirm} onInput={set('confirm')} />
        </label>
        {adminKey ? (
          <label>
            Admin key <span class="help">This server was started with SIGHTLINE_ADMIN_KEY; enter it to prove you run it.</span>
            <input name="admin_key" type="password" autoComplete="off" required value={f.admin_key} onInput={set('admin_key')} />
          </label>
        ) : null}
        <FormError error={error} />
        <button class="primary" type="submit" disabled={busy}>
          {busy ? 'Creating…' : 'Create account'}
        </button>
      </form>
    </AuthCard>
  );
}

export function LoginPage({ onDone }: { onDone: (me: Me) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  return (
    <AuthCard title="Log in">
      <form
        class="form"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError('');
          try {
            onDone(await post<Me>('/api/login', { email, password }));
          } catch (err) {
            setError(message(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <label>
          E-mail
          <input name="email" type="email" autoComplete="username" required value={email} onInput={(e) => setEmail((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
        </label>
        <FormError error={error} />
        <button class="primary" type="submit" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
    </AuthCard>
  );
}

interface InviteInfo {
  email: string;
  role: string;
  project_id: number;
  project_name: string;
  has_account: boolean;
}

export function InvitePage({ token, onDone }: { token: string; onDone: (me: Me, to?: string) => void }) {
  const info = useAsync((s) => get<InviteInfo>(`/api/invites/${encodeURIComponent(token)}`, s), [token]);
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  if (info.loading) return <Loading />;
  if (info.error || !info.data) {
    return (
      <AuthCard title="Invitation">
        <ErrorState error={info.error ?? new Error('unknown invitation')} />
      </AuthCard>
    );
  }
  const inv = info.data;
  return (
    <AuthCard title={`Join ${inv.project_name}`}>
      <p class="muted">
        You were invited as <strong>{inv.role}</strong> with the address <strong>{inv.email}</strong>.
        {inv.has_account ? ' Enter your password to accept.' : ' Choose a password to create your account.'}
      </p>
      <form
        class="form"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError('');
          try {
            // Land in the project of the invitation, not the first of the list.
            onDone(await post<Me>(`/api/invites/${encodeURIComponent(token)}/accept`, { name, password }), `/p/${inv.project_id}/overview`);
          } catch (err) {
            setError(message(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        {inv.has_account ? null : (
          <label>
            Your name
            <input name="name" autoComplete="name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          </label>
        )}
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete={inv.has_account ? 'current-password' : 'new-password'}
            minLength={inv.has_account ? undefined : 8}
            required
            value={password}
            onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
          />
        </label>
        <FormError error={error} />
        <button class="primary" type="submit" disabled={busy}>
          Accept invitation
        </button>
      </form>
    </AuthCard>
  );
}
