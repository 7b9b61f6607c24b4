import type { ComponentChildren, JSX } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, get, onUnauthorized, post, setCsrfToken } from './lib/api';
import { href, match, navigate, useLocation } from './lib/router';
import { Project, Session, type Me, type ProjectCtx, type SessionCtx } from './lib/session';
import { ErrorBoundary, ErrorState, Loading } from './ui/states';
import { Link, Logo, Redirect } from './ui/link';
import { InvitePage, LoginPage, SetupPage } from './pages/auth';
import { Overview } from './pages/overview';
import { InsightBuilder, InsightList } from './pages/insights';
import { DashboardList, DashboardView } from './pages/dashboards';
import { SessionsPage } from './pages/sessions';
import { ReplayPage } from './pages/replay';
import { HeatmapPage } from './pages/heatmaps';
import { FrustrationPage } from './pages/frustration';
import { ActionEditor, ActionList, SegmentEditor, SegmentList } from './pages/definitions';
import { LivePage } from './pages/live';
import { SettingsPage } from './pages/settings';
import { AccountPage, NewProjectPage } from './pages/account';
import { AlertPage, AlertsPage, ClusterSessionsPage, ClustersPage, FeedPage, NewAlertPage } from './pages/insight-routes';
// The insight pages load lazily; their styles ship with the main stylesheet.
import './ui/insights.css';

type Gate = { state: 'loading' } | { state: 'setup'; adminKey: boolean } | { state: 'login' } | { state: 'in'; me: Me } | { state: 'error'; error: Error };

export function App() {
  const loc = useLocation();
  const [gate, setGate] = useState<Gate>({ state: 'loading' });
  const [toastMsg, setToastMsg] = useState('');
  const toastTimer = useRef<number | undefined>(undefined);

  const loadMe = useCallback(async () => {
    try {
      const me = await get<Me>('/api/me');
      setCsrfToken(me.csrf_token);
      setGate({ state: 'in', me });
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        const s = await get<{ needed: boolean; admin_key_required: boolean }>('/api/setup');
        setGate(s.needed ? { state: 'setup', adminKey: s.admin_key_required } : { state: 'login' });
        return;
      }
      setGate({ state: 'error', error: e as Error });
    }
  }, []);

  useEffect(() => {
    loadMe();
    return onUnauthorized(() => setGate({ state: 'login' }));
  }, [loadMe]);

  const onLoggedIn = useCallback((me: Me, to?: string) => {
    setCsrfToken(me.csrf_token);
    setGate({ state: 'in', me });
    const next = to ?? new URLSearchParams(location.search).get('next');
    navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/', true);
  }, []);

  const session = useMemo<SessionCtx | null>(() => {
    if (gate.state !== 'in') return null;
    return {
      me: gate.me,
      reloadMe: loadMe,
      logout: async () => {
        try {
          await post('/api/logout');
        } finally {
          setCsrfToken('');
          setGate({ state: 'login' });
          navigate('/login', true);
        }
      },
      toast: (msg: string) => {
        setToastMsg(msg);
        clearTimeout(toastTimer.current);
        toastTimer.current = window.setTimeout(() => setToastMsg(''), 3000);
      },
    };
  }, [gate, loadMe]);

  const invite = match('/invite/:token', loc.path);
  if (invite) return <InvitePage token={invite['token']!} onDone={onLoggedIn} />;

  switch (gate.state) {
    case 'loading':
      return <Loading label="Starting Sightline…" />;
    case 'error':
      return (
        <main>
          <ErrorState error={gate.error} retry={loadMe} />
        </main>
      );
    case 'setup':
      return (
        <>
          {loc.path !== '/setup' ? <Redirect to="/setup" /> : null}
          <SetupPage adminKey={gate.adminKey} onDone={onLoggedIn} />
        </>
      );
    case 'login':
      return (
        <>
          {loc.path !== '/login' ? <Redirect to={href('/login', { next: loc.path === '/' || loc.path === '/setup' ? '' : loc.path + location.search })} /> : null}
          <LoginPage onDone={onLoggedIn} />
        </>
      );
  }
  if (loc.path === '/login' || loc.path === '/setup') return <Redirect to="/" />;
  return (
    <Session.Provider value={session}>
      <Shell me={gate.me} path={loc.path} />
      {toastMsg ? (
        <div class="toast" role="status">
          {toastMsg}
        </div>
      ) : null}
    </Session.Provider>
  );
}

type Page = (p: Record<string, string>) => JSX.Element;

const projectRoutes: [string, Page][] = [
  ['overview', () => <Overview />],
  ['insights', () => <InsightList />],
  ['insights/new', () => <InsightBuilder />],
  ['insights/:id', (p) => <InsightBuilder id={Number(p['id'])} />],
  ['dashboards', () => <DashboardList />],
  ['dashboards/:id', (p) => <DashboardView id={Number(p['id'])} />],
  ['sessions', () => <SessionsPage />],
  ['replay/:sid', (p) => <ReplayPage sessionID={p['sid']!} />],
  ['heatmaps', () => <HeatmapPage />],
  ['frustration', () => <FrustrationPage />],
  ['feed', () => <FeedPage />],
  ['clusters', () => <ClustersPage />],
  ['clusters/:run/:cluster', (p) => <ClusterSessionsPage run={Number(p['run'])} cluster={Number(p['cluster'])} />],
  ['alerts', () => <AlertsPage />],
  ['alerts/new', () => <NewAlertPage />],
  ['alerts/:id', (p) => <AlertPage id={Number(p['id'])} />],
  ['actions', () => <ActionList />],
  ['actions/:id', (p) => <ActionEditor id={p['id']!} />],
  ['segments', () => <SegmentList />],
  ['segments/:id', (p) => <SegmentEditor id={p['id']!} />],
  ['live', () => <LivePage />],
  ['settings', () => <SettingsPage />],
];

const nav: [string, string][] = [
  ['overview', 'Overview'],
  ['feed', 'Insight feed'],
  ['insights', 'Insights'],
  ['dashboards', 'Dashboards'],
  ['sessions', 'Sessions & replays'],
  ['clusters', 'Behavior clusters'],
  ['heatmaps', 'Heatmaps'],
  ['frustration', 'Frustration'],
  ['alerts', 'Alerts'],
  ['actions', 'Actions'],
  ['segments', 'Segments'],
  ['live', 'Live events'],
  ['settings', 'Settings'],
];

function Shell({ me, path }: { me: Me; path: string }) {
  const [open, setOpen] = useState(false);
  const mainRef = useRef<HTMLElement>(null);
  const pm = /^\/p\/(\d+)(?:\/(.*))?$/.exec(path);
  const pid = pm ? Number(pm[1]) : 0;
  const sub = pm ? (pm[2] ?? '').replace(/\/+$/, '') : '';

  // Move focus to the page on navigation, so keyboard and screen-reader
  // users start at the new content.
  const section = sub.split('/')[0];
  useEffect(() => {
    setOpen(false);
    mainRef.current?.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }, [pid, section]);

  let content: ComponentChildren;
  let project: ProjectCtx | null = null;
  if (pm) {
    const ref = me.projects.find((p) => p.id === pid);
    if (!ref) {
      content = <ErrorState error={new ApiError(404, 'not found')} />;
    } else {
      project = { id: ref.id, name: ref.name, role: ref.role, canEdit: ref.role !== 'viewer', isAdmin: ref.role === 'admin' };
      if (sub === '') return <Redirect to={`/p/${pid}/overview`} />;
      for (const [pattern, page] of projectRoutes) {
        const m = match(pattern, sub);
        if (m) {
          content = page(m);
          break;
        }
      }
      content ??= <ErrorState error={new ApiError(404, 'No such page.')} />;
    }
  } else if (path === '/projects/new') {
    content = <NewProjectPage />;
  } else if (path === '/account') {
    content = <AccountPage />;
  } else {
    const first = me.projects[0];
    if (first) return <Redirect to={`/p/${first.id}/overview`} />;
    if (me.user.role === 'admin') return <Redirect to="/projects/new" />;
    content = (
      <div class="card">
        <h1>No projects yet</h1>
        <p>You are not a member of any project. Ask an admin to invite you to one.</p>
      </div>
    );
  }

  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <aside class={'side' + (open ? ' open' : '')}>
        <Link class="brand" href="/">
          <Logo /> Sightline
        </Link>
        <button type="button" class="menu-toggle small" aria-expanded={open} aria-controls="side-nav" onClick={() => setOpen(!open)}>
          Menu
        </button>
        <div class="proj stack">
          <label>
            <span class="sr-only">Project</span>
            <select
              value={pid || ''}
              onChange={(e) => {
                const v = (e.target as HTMLSelectElement).value;
                if (v === 'new') navigate('/projects/new');
                else navigate(`/p/${v}/${section || 'overview'}`);
              }}
            >
              {!pid ? <option value="">Choose a project</option> : null}
              {me.projects.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
              {me.user.role === 'admin' ? <option value="new">+ New project</option> : null}
            </select>
          </label>
        </div>
        {pid ? (
          <nav id="side-nav" aria-label="Sections">
            {nav.map(([p, label]) => (
              <Link key={p} href={`/p/${pid}/${p}`} aria-current={section === p || (p === 'sessions' && section === 'replay') ? 'page' : undefined}>
                {label}
              </Link>
            ))}
          </nav>
        ) : (
          <nav id="side-nav" aria-label="Sections" />
        )}
        <div class="who">
          <Link href="/account">{me.user.name || me.user.email}</Link>
          <span class="muted small">{me.user.email}</span>
          <LogoutButton />
        </div>
      </aside>
      <Project.Provider value={project}>
        <main id="main" ref={mainRef} tabIndex={-1}>
          <ErrorBoundary key={path}>{content}</ErrorBoundary>
        </main>
      </Project.Provider>
    </div>
  );
}

function LogoutButton() {
  const [busy, setBusy] = useState(false);
  return (
    <Session.Consumer>
      {(s) => (
        <button
          type="button"
          class="small"
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            await s?.logout();
          }}
        >
          Log out
        </button>
      )}
    </Session.Consumer>
  );
}
