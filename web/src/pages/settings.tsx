import { useEffect, useState } from 'preact/hooks';
import { ApiError, del, get, patch, post, put } from '../lib/api';
import { useAsync } from '../lib/hooks';
import { setParams, useLocation } from '../lib/router';
import { useProject, useSession, useTitle } from '../lib/session';
import { fmtDate, fmtTime } from '../lib/format';
import { CopyButton } from '../ui/controls';
import { Empty, ErrorState, Loading } from '../ui/states';

export interface ProjectSettings {
  replay_enabled: boolean;
  replay_sample_rate: number;
  replay_min_duration_ms: number;
  masking_mode: 'strict' | 'balanced' | 'relaxed';
  allowed_origins: string[] | null;
  timezone: string;
  anonymize_ip: boolean;
  rate_limit_per_second: number;
  rate_limit_burst: number;
  retention_days: number;
  capture_disabled: boolean;
}

export interface ProjectDetail {
  id: number;
  name: string;
  token: string;
  settings: ProjectSettings;
  role: string;
  snippet: string;
  created_at: string;
}

const tabs: [string, string][] = [
  ['general', 'General'],
  ['capture', 'Capture & privacy'],
  ['keys', 'API keys'],
  ['members', 'Members'],
];

export function SettingsPage() {
  useTitle('Settings');
  const p = useProject();
  const loc = useLocation();
  const tab = loc.query.get('tab') || 'general';
  const proj = useAsync((s) => get<ProjectDetail>(`/api/projects/${p.id}`, s), [p.id]);
  return (
    <div class="stack">
      <div class="page-head">
        <div>
          <h1>Settings</h1>
          <p>{p.isAdmin ? 'Project settings, keys and members.' : 'You can read these settings; only project admins change them.'}</p>
        </div>
      </div>
      <div class="tabs" role="tablist" aria-label="Settings sections">
        {tabs.map(([id, label]) => (
          <button key={id} type="button" role="tab" aria-selected={tab === id} onClick={() => setParams({ tab: id === 'general' ? null : id })}>
            {label}
          </button>
        ))}
      </div>
      {proj.loading && !proj.data ? <Loading /> : null}
      {proj.error ? <ErrorState error={proj.error} retry={proj.reload} /> : null}
      {proj.data ? (
        <div role="tabpanel">
          {tab === 'general' ? <General proj={proj.data} reload={proj.reload} /> : null}
          {tab === 'capture' ? <Capture proj={proj.data} reload={proj.reload} /> : null}
          {tab === 'keys' ? <Keys /> : null}
          {tab === 'members' ? <Members /> : null}
        </div>
      ) : null}
    </div>
  );
}

function useSave() {
  const s = useSession();
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const run = async (f: () => Promise<unknown>, ok: string) => {
    setBusy(true);
    setError('');
    try {
      await f();
      s.toast(ok);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : 'Could not save.');
    } finally {
      setBusy(false);
    }
  };
  return { error, busy, run };
}

function General({ proj, reload }: { proj: ProjectDetail; reload: () => void }) {
  const p = useProject();
  const sess = useSession();
  const [name, setName] = useState(proj.name);
  const save = useSave();
  return (
    <div class="stack">
      <form
        class="card form"
        onSubmit={(e) => {
          e.preventDefault();
          save.run(async () => {
            await patch(`/api/projects/${p.id}`, { name });
            await sess.reloadMe();
            reload();
          }, 'Project renamed');
        }}
      >
        <h2>Project</h2>
        <label>
          Name
          <input value={name} required maxLength={200} disabled={!p.isAdmin} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </label>
        <div class="small muted">Created {fmtDate(proj.created_at)} · project id {proj.id}</div>
        {save.error ? <div class="field-error" role="alert">{save.error}</div> : null}
        {p.isAdmin ? (
          <div>
            <button class="primary" type="submit" disabled={save.busy}>
              Save
            </button>
          </div>
        ) : null}
      </form>
      <div class="card stack">
        <h2>Install</h2>
        <p class="muted">Paste this snippet in the &lt;head&gt; of every page. The token is public: it only lets browsers send events.</p>
        <div class="snippet">
          <pre>{proj.snippet}</pre>
          <CopyButton text={proj.snippet} label="Copy snippet" />
        </div>
        <div class="row">
          <span>
            Public token: <code>{proj.token}</code>
          </span>
          <CopyButton text={proj.token} label="Copy token" />
          {p.isAdmin ? (
            <button
              type="button"
              class="small danger"
              onClick={() => {
                if (!confirm('Rotate the token? Pages with the old snippet stop sending events until you update them.')) return;
                save.run(async () => {
                  await post(`/api/projects/${p.id}/token`);
                  reload();
                }, 'New token issued');
              }}
            >
              Rotate token
            </button>
          ) : null}
        </div>
      </div>
    </div>
  );
}

const zones = (() => {
  try {
    return (Intl as unknown as { supportedValuesOf(k: string): string[] }).supportedValuesOf('timeZone');
  } catch {
    return ['UTC'];
  }
})();

function Capture({ proj, reload }: { proj: ProjectDetail; reload: () => void }) {
  const p = useProject();
  const [st, setSt] = useState<ProjectSettings>(proj.settings);
  const [origins, setOrigins] = useState((proj.settings.allowed_origins ?? []).join('\n'));
  const save = useSave();
  useEffect(() => setSt(proj.settings), [proj]);
  const ro = !p.isAdmin;
  const set = <K extends keyof ProjectSettings>(k: K, v: ProjectSettings[K]) => setSt({ ...st, [k]: v });
  return (
    <form
      class="card form"
      onSubmit={(e) => {
        e.preventDefault();
        const allowed = origins
          .split(/[\s,]+/)
          .map((o) => o.trim())
          .filter(Boolean);
        save.run(async () => {
          await patch(`/api/projects/${p.id}`, { settings: { ...st, allowed_origins: allowed } });
          reload();
        }, 'Settings saved');
      }}
    >
      <fieldset disabled={ro} class="stack">
        <legend>Session replay</legend>
        <label class="inline">
          <input type="checkbox" checked={st.replay_enabled} onChange={(e) => set('replay_enabled', (e.target as HTMLInputElement).checked)} /> Record session replays
        </label>
        <label>
          Sample rate <span class="help">Share of sessions recorded: {Math.round(st.replay_sample_rate * 100)}%</span>
          <input
            type="range"
            min={0}
            max={100}
            step={1}
            value={Math.round(st.replay_sample_rate * 100)}
            onInput={(e) => set('replay_sample_rate', Number((e.target as HTMLInputElement).value) / 100)}
          />
        </label>
        <label>
          Minimum duration (seconds) <span class="help">Recordings of shorter sessions are dropped.</span>
          <input
            type="number"
            min={0}
            value={Math.round(st.replay_min_duration_ms / 1000)}
            onInput={(e) => set('replay_min_duration_ms', Number((e.target as HTMLInputElement).value) * 1000)}
          />
        </label>
      </fieldset>
      <fieldset disabled={ro} class="stack">
        <legend>Privacy</legend>
        <label>
          Masking mode
          <select value={st.masking_mode} onChange={(e) => set('masking_mode', (e.target as HTMLSelectElement).value as ProjectSettings['masking_mode'])}>
            <option value="strict">Strict: all text masked</option>
            <option value="balanced">Balanced: inputs, e-mails, numbers and cards masked</option>
            <option value="relaxed">Relaxed: inputs masked</option>
          </select>
        </label>
        <label class="inline">
          <input type="checkbox" checked={st.anonymize_ip} onChange={(e) => set('anonymize_ip', (e.target as HTMLInputElement).checked)} /> Anonymize IP addresses
        </label>
        <label>
          Allowed origins <span class="help">One per line, e.g. https://shop.example.com or https://*.example.com. Empty: any site may send events with this token.</span>
          <textarea value={origins} onInput={(e) => setOrigins((e.target as HTMLTextAreaElement).value)} />
        </label>
      </fieldset>
      <fieldset disabled={ro} class="stack">
        <legend>Data</legend>
        <label>
          Time zone <span class="help">Days and weeks in charts start at midnight here.</span>
          <select value={st.timezone} onChange={(e) => set('timezone', (e.target as HTMLSelectElement).value)}>
            {(zones.includes(st.timezone) ? zones : [st.timezone, ...zones]).map((z) => (
              <option key={z} value={z}>
                {z}
              </option>
            ))}
          </select>
        </label>
        <label>
          Keep data for (days) <span class="help">0 keeps it forever.</span>
          <input type="number" min={0} value={st.retention_days} onInput={(e) => set('retention_days', Number((e.target as HTMLInputElement).value))} />
        </label>
        <label class="inline">
          <input type="checkbox" checked={st.capture_disabled} onChange={(e) => set('capture_disabled', (e.target as HTMLInputElement).checked)} /> Pause capture (refuse
          all events)
        </label>
      </fieldset>
      {save.error ? <div class="field-error" role="alert">{save.error}</div> : null}
      {ro ? null : (
        <div>
          <button class="primary" type="submit" disabled={save.busy}>
            Save settings
          </button>
        </div>
      )}
    </form>
  );
}

interface Key {
  id: number;
  name: string;
  prefix: string;
  created_at: string;
  last_used_at?: string;
  active: boolean;
  key?: string;
}

function Keys() {
  const p = useProject();
  const keys = useAsync((s) => get<{ keys: Key[] }>(`/api/projects/${p.id}/keys`, s), [p.id]);
  const [name, setName] = useState('');
  const [created, setCreated] = useState<Key | null>(null);
  const save = useSave();
  if (!p.isAdmin) return <Empty title="Only project admins see API keys." />;
  return (
    <div class="stack">
      <form
        class="card form"
        onSubmit={(e) => {
          e.preventDefault();
          save.run(async () => {
            setCreated(await post<Key>(`/api/projects/${p.id}/keys`, { name }));
            setName('');
            keys.reload();
          }, 'Key created');
        }}
      >
        <h2>New API key</h2>
        <p class="muted small">API keys read this project's data and edit its definitions from scripts: send Authorization: Bearer &lt;key&gt;.</p>
        <div class="row">
          <label class="grow">
            <span class="sr-only">Key name</span>
            <input value={name} required placeholder="What uses it, e.g. nightly export" onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          </label>
          <button class="primary" type="submit" disabled={save.busy}>
            Create key
          </button>
        </div>
        {save.error ? <div class="field-error" role="alert">{save.error}</div> : null}
        {created?.key ? (
          <div class="stack" role="status">
            <strong>Copy the key now: it is not shown again.</strong>
            <div class="row">
              <code class="grow">{created.key}</code>
              <CopyButton text={created.key} />
            </div>
          </div>
        ) : null}
      </form>
      <div class="card table-wrap">
        {keys.loading && !keys.data ? <Loading /> : null}
        {keys.error ? <ErrorState error={keys.error} retry={keys.reload} /> : null}
        {keys.data ? (
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Key</th>
                <th>Created</th>
                <th>Last used</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {keys.data.keys.map((k) => (
                <tr key={k.id}>
                  <td>{k.name}</td>
                  <td>
                    <code>{k.prefix}…</code>
                  </td>
                  <td>{fmtDate(k.created_at)}</td>
                  <td>{k.last_used_at ? fmtTime(k.last_used_at) : 'never'}</td>
                  <td class="right">
                    {k.active ? (
                      <button
                        type="button"
                        class="small danger"
                        onClick={() => {
                          if (!confirm(`Revoke "${k.name}"? Scripts using it stop working at once.`)) return;
                          save.run(async () => {
                            await del(`/api/projects/${p.id}/keys/${k.id}`);
                            keys.reload();
                          }, 'Key revoked');
                        }}
                      >
                        Revoke
                      </button>
                    ) : (
                      <span class="badge">revoked</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </div>
    </div>
  );
}

interface Member {
  user_id: number;
  email: string;
  name: string;
  role: string;
  instance_admin: boolean;
}

interface Invite {
  id: number;
  email: string;
  role: string;
  expires_at: string;
  url?: string;
}

function Members() {
  const p = useProject();
  const sess = useSession();
  const members = useAsync((s) => get<{ members: Member[] }>(`/api/projects/${p.id}/members`, s), [p.id]);
  const invites = useAsync((s) => (p.isAdmin ? get<{ invites: Invite[] }>(`/api/projects/${p.id}/invites`, s) : Promise.resolve({ invites: [] })), [p.id, p.isAdmin]);
  const [email, setEmail] = useState('');
  const [role, setRole] = useState('member');
  const [link, setLink] = useState('');
  const save = useSave();
  return (
    <div class="stack">
      {p.isAdmin ? (
        <form
          class="card form"
          onSubmit={(e) => {
            e.preventDefault();
            save.run(async () => {
              const inv = await post<Invite>(`/api/projects/${p.id}/invites`, { email, role });
              setLink(inv.url ?? '');
              setEmail('');
              invites.reload();
            }, 'Invitation created');
          }}
        >
          <h2>Invite someone</h2>
          <div class="row">
            <label class="grow">
              <span class="sr-only">E-mail</span>
              <input type="email" required placeholder="name@example.com" value={email} onInput={(e) => setEmail((e.target as HTMLInputElement).value)} />
            </label>
            <label>
              <span class="sr-only">Role</span>
              <select value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value)}>
                <option value="viewer">Viewer: reads everything</option>
                <option value="member">Member: also edits insights and definitions</option>
                <option value="admin">Admin: also settings, keys, members</option>
              </select>
            </label>
            <button class="primary" type="submit" disabled={save.busy}>
              Invite
            </button>
          </div>
          {save.error ? <div class="field-error" role="alert">{save.error}</div> : null}
          {link ? (
            <div class="stack" role="status">
              <span>Send this link to them (valid 7 days):</span>
              <div class="row">
                <code class="grow ellipsis">{link}</code>
                <CopyButton text={link} />
              </div>
            </div>
          ) : null}
        </form>
      ) : null}
      <div class="card table-wrap">
        <h2>Members</h2>
        {members.loading && !members.data ? <Loading /> : null}
        {members.error ? <ErrorState error={members.error} retry={members.reload} /> : null}
        {members.data ? (
          <table>
            <thead>
              <tr>
                <th>Person</th>
                <th>Role</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {members.data.members.map((m) => (
                <tr key={m.user_id}>
                  <td>
                    {m.name || m.email}
                    <div class="small muted">{m.email}</div>
                  </td>
                  <td>
                    {m.instance_admin ? (
                      <span class="badge">instance admin</span>
                    ) : p.isAdmin && m.user_id !== sess.me.user.id ? (
                      <select
                        aria-label={`Role of ${m.email}`}
                        value={m.role}
                        onChange={(e) =>
                          save.run(async () => {
                            await put(`/api/projects/${p.id}/members/${m.user_id}`, { role: (e.target as HTMLSelectElement).value });
                            members.reload();
                          }, 'Role changed')
                        }
                      >
                        <option value="viewer">viewer</option>
                        <option value="member">member</option>
                        <option value="admin">admin</option>
                      </select>
                    ) : (
                      m.role
                    )}
                  </td>
                  <td class="right">
                    {p.isAdmin && !m.instance_admin && m.user_id !== sess.me.user.id ? (
                      <button
                        type="button"
                        class="small danger"
                        onClick={() => {
                          if (!confirm(`Remove ${m.email} from this project?`)) return;
                          save.run(async () => {
                            await del(`/api/projects/${p.id}/members/${m.user_id}`);
                            members.reload();
                          }, 'Member removed');
                        }}
                      >
                        Remove
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </div>
      {p.isAdmin && invites.data && invites.data.invites.length > 0 ? (
        <div class="card table-wrap">
          <h2>Pending invitations</h2>
          <table>
            <tbody>
              {invites.data.invites.map((i) => (
                <tr key={i.id}>
                  <td>{i.email}</td>
                  <td>{i.role}</td>
                  <td class="small muted">expires {fmtDate(i.expires_at)}</td>
                  <td class="right">
                    <button
                      type="button"
                      class="small"
                      onClick={() =>
                        save.run(async () => {
                          await del(`/api/projects/${p.id}/invites/${i.id}`);
                          invites.reload();
                        }, 'Invitation withdrawn')
                      }
                    >
                      Withdraw
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </div>
  );
}
