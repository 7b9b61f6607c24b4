import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, get } from '../lib/api';
import { useAsync, useWidth } from '../lib/hooks';
import { eventLabel, fmtClock, fmtDuration, fmtNum, fmtTime, pathOf } from '../lib/format';
import { setParams, useLocation } from '../lib/router';
import { useProject, useTitle } from '../lib/session';
import { Link } from '../ui/link';
import { Empty, ErrorState, Loading } from '../ui/states';
import type { Player, RREvent } from '../replay/player';

export interface ReplayWindow {
  window_id: string;
  events: RREvent[];
}

export interface ReplayAnswer {
  session_id: string;
  windows: ReplayWindow[];
}

export interface StoredEvent {
  uuid: string;
  event: string;
  distinct_id: string;
  session_id: string;
  timestamp: string;
  url: string;
  path: string;
  title?: string;
  selector?: string;
  browser?: string;
  os?: string;
  device_type?: string;
  rage?: boolean;
  dead?: boolean;
  error_click?: boolean;
  properties?: Record<string, unknown>;
}

export function fetchReplay(pid: number, sid: string, signal?: AbortSignal): Promise<ReplayAnswer | null> {
  return get<ReplayAnswer>(`/api/projects/${pid}/replay/${encodeURIComponent(sid)}`, signal).catch((e) => {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  });
}

type Kind = 'pageview' | 'click' | 'rage' | 'dead' | 'error' | 'other';

function kindOf(e: StoredEvent): Kind {
  if (e.event === '$rageclick' || e.rage) return 'rage';
  if (e.event === '$deadclick' || e.dead) return 'dead';
  if (e.event === '$errorclick' || e.error_click || e.event === '$error') return 'error';
  if (e.event === '$pageview') return 'pageview';
  if (e.event === '$click') return 'click';
  return 'other';
}

export function ReplayPage({ sessionID }: { sessionID: string }) {
  useTitle('Replay');
  const p = useProject();
  const loc = useLocation();
  const replay = useAsync((s) => fetchReplay(p.id, sessionID, s), [p.id, sessionID]);
  const events = useAsync((s) => get<{ events: StoredEvent[] }>(`/api/projects/${p.id}/events?session_id=${encodeURIComponent(sessionID)}`, s), [p.id, sessionID]);
  const windows = (replay.data?.windows ?? []).filter((w) => w.events.length >= 2);
  const busiest = windows.reduce((best, w, i) => (w.events.length > (windows[best]?.events.length ?? 0) ? i : best), 0);
  const wi = Math.min(Number(loc.query.get('window') ?? busiest), Math.max(0, windows.length - 1));
  const evs = events.data?.events ?? [];
  const first = evs[0];

  return (
    <div class="stack">
      <div class="page-head">
        <div>
          <h1>Session replay</h1>
          <p>
            <Link href={`/p/${p.id}/sessions`}>← Sessions</Link> · <span class="mono small">{sessionID}</span>
          </p>
        </div>
      </div>
      <div class="replay-layout">
        <div class="stack">
          {windows.length > 1 ? (
            <div class="tabs" role="tablist" aria-label="Browser tabs of this session">
              {windows.map((w, i) => (
                <button key={w.window_id} type="button" role="tab" aria-selected={i === wi} onClick={() => setParams({ window: i })}>
                  Tab {i + 1}
                </button>
              ))}
            </div>
          ) : null}
          <div class="card">
            {replay.loading ? <Loading label="Loading the recording…" /> : null}
            {replay.error ? <ErrorState error={replay.error} retry={replay.reload} /> : null}
            {!replay.loading && !replay.error && windows.length === 0 ? (
              <Empty title="No recording for this session.">Replays are recorded when they are on in the project settings and the session was sampled.</Empty>
            ) : null}
            {windows[wi] ? <PlayerView key={windows[wi]!.window_id} events={windows[wi]!.events} sessionEvents={evs} initial={Number(loc.query.get('t') ?? 0)} /> : null}
          </div>
        </div>
        <aside class="stack">
          <div class="card">
            <h2>Session</h2>
            {events.loading && !events.data ? <Loading /> : null}
            {events.error ? <ErrorState error={events.error} retry={events.reload} /> : null}
            {first ? <Facts evs={evs} /> : events.data ? <Empty title="No events stored for this session." /> : null}
          </div>
        </aside>
      </div>
    </div>
  );
}

function Facts({ evs }: { evs: StoredEvent[] }) {
  const p = useProject();
  const first = evs[0]!;
  const last = evs[evs.length - 1]!;
  const count = (k: Kind) => evs.filter((e) => kindOf(e) === k).length;
  const dur = (Date.parse(last.timestamp) - Date.parse(first.timestamp)) / 1000;
  const withDevice = evs.find((e) => e.browser) ?? first;
  return (
    <dl class="facts">
      <dt>Person</dt>
      <dd class="mono small">{first.distinct_id}</dd>
      <dt>Started</dt>
      <dd>{fmtTime(first.timestamp)}</dd>
      <dt>Duration</dt>
      <dd>{fmtDuration(dur)}</dd>
      <dt>Device</dt>
      <dd>
        {[withDevice.device_type, withDevice.browser, withDevice.os].filter(Boolean).join(' · ') || '–'}
      </dd>
      <dt>Entry</dt>
      <dd>{pathOf(first.url)}</dd>
      <dt>Pages</dt>
      <dd>{fmtNum(count('pageview'))}</dd>
      <dt>Clicks</dt>
      <dd>{fmtNum(count('click'))}</dd>
      <dt>Signals</dt>
      <dd class="row" style={{ gap: '0.25rem' }}>
        <span class="badge rage">{count('rage')} rage</span>
        <span class="badge dead">{count('dead')} dead</span>
        <span class="badge error">{count('error')} error</span>
      </dd>
      <dt>More</dt>
      <dd>
        <Link href={`/p/${p.id}/sessions?url=${encodeURIComponent(pathOf(first.url).split('?')[0] ?? '')}`}>Sessions on this entry page</Link>
      </dd>
    </dl>
  );
}

const speeds = [0.5, 1, 2, 4, 8];

function PlayerView({ events, sessionEvents, initial }: { events: RREvent[]; sessionEvents: StoredEvent[]; initial: number }) {
  const host = useRef<HTMLDivElement>(null);
  const [stageRef, stageWidth] = useWidth<HTMLDivElement>();
  const player = useRef<Player | null>(null);
  const [ready, setReady] = useState(false);
  const [err, setErr] = useState<Error | null>(null);
  const [playing, setPlaying] = useState(false);
  const [time, setTime] = useState(0);
  const [speed, setSpeed] = useState(1);
  const [skip, setSkip] = useState(true);
  const [dims, setDims] = useState({ w: 1280, h: 800 });
  const listRef = useRef<HTMLOListElement>(null);

  useEffect(() => {
    let cancelled = false;
    let timer = 0;
    import('../replay/player').then(
      ({ createPlayer }) => {
        if (cancelled || !host.current) return;
        try {
          const pl = createPlayer(host.current, events, { speed, skipInactive: skip });
          player.current = pl;
          setDims({ w: pl.width, h: pl.height });
          pl.on('resize', () => setDims({ w: pl.width, h: pl.height }));
          pl.on('finish', () => {
            setPlaying(false);
            setTime(pl.totalTime);
          });
          if (initial > 0) pl.pause(initial);
          setTime(pl.current());
          setReady(true);
          timer = window.setInterval(() => setTime(pl.current()), 200);
        } catch (e) {
          setErr(e as Error);
        }
      },
      (e) => setErr(e as Error),
    );
    return () => {
      cancelled = true;
      clearInterval(timer);
      player.current?.destroy();
      player.current = null;
    };
  }, [events]);

  const pl = player.current;
  const total = pl?.totalTime ?? 0;
  const start = pl?.startTime ?? events[0]?.timestamp ?? 0;
  const scale = stageWidth > 0 ? Math.min(1, stageWidth / dims.w, 560 / dims.h) : 1;

  const toggle = () => {
    if (!pl) return;
    if (playing) {
      pl.pause();
      setPlaying(false);
    } else {
      pl.play(time >= total ? 0 : time);
      setPlaying(true);
    }
  };
  const seek = (t: number) => {
    if (!pl) return;
    const clamped = Math.max(0, Math.min(total, t));
    if (playing) pl.play(clamped);
    else pl.pause(clamped);
    setTime(clamped);
  };

  const marked = useMemo(
    () =>
      sessionEvents
        .map((e) => ({ e, kind: kindOf(e), at: Date.parse(e.timestamp) - start }))
        .filter((m) => m.kind !== 'other' || m.e.event === '$submit' || m.e.event === '$error'),
    [sessionEvents, start],
  );
  const currentIdx = marked.reduce((idx, m, i) => (m.at <= time ? i : idx), -1);

  useEffect(() => {
    const el = listRef.current?.querySelector('li.current');
    if (el && playing) (el as HTMLElement).scrollIntoView({ block: 'nearest' });
  }, [currentIdx, playing]);

  return (
    <div
      class="stack"
      onKeyDown={(e) => {
        const tag = (e.target as HTMLElement).tagName;
        if (tag === 'INPUT' || tag === 'SELECT') return;
        if (e.key === ' ' || e.key === 'k') {
          e.preventDefault();
          toggle();
        } else if (e.key === 'ArrowRight') seek(time + 5000);
        else if (e.key === 'ArrowLeft') seek(time - 5000);
      }}
    >
      {err ? <ErrorState error={err} /> : null}
      <div ref={stageRef}>
        <div class="player-stage" style={{ height: `${Math.max(200, dims.h * scale)}px` }} data-testid="player-stage">
          <div ref={host} style={{ transform: `scale(${scale})`, transformOrigin: '0 0', width: `${dims.w}px`, height: `${dims.h}px`, position: 'absolute', left: `${Math.max(0, (stageWidth - dims.w * scale) / 2)}px`, top: 0 }} />
          {!ready && !err ? <Loading label="Preparing the player…" /> : null}
        </div>
      </div>
      <div class="timeline" aria-hidden="false">
        {total > 0
          ? marked
              // The recorder starts a moment after the page's first events:
              // those few seconds before the recording are drawn at its start.
              .filter((m) => m.kind !== 'other' && m.at >= -10000 && m.at <= total + 1000)
              .map((m) => (
                <span
                  key={m.e.uuid}
                  class={`marker ${m.kind}`}
                  style={{ left: `${(Math.min(total, Math.max(0, m.at)) / total) * 100}%` }}
                  title={`${eventLabel(m.e.event)} ${pathOf(m.e.url)}`}
                  data-kind={m.kind}
                />
              ))
          : null}
        <input
          type="range"
          min={0}
          max={Math.max(1, total)}
          step={100}
          value={time}
          aria-label="Playback position"
          aria-valuetext={`${fmtClock(time)} of ${fmtClock(total)}`}
          onInput={(e) => seek(Number((e.target as HTMLInputElement).value))}
        />
      </div>
      <div class="controls">
        <button type="button" class="primary" onClick={toggle} disabled={!ready} aria-label={playing ? 'Pause' : 'Play'} data-testid="play">
          {playing ? '❚❚ Pause' : '▶ Play'}
        </button>
        <button type="button" class="small" onClick={() => seek(time - 5000)} disabled={!ready} aria-label="Back 5 seconds">
          −5s
        </button>
        <button type="button" class="small" onClick={() => seek(time + 5000)} disabled={!ready} aria-label="Forward 5 seconds">
          +5s
        </button>
        <span class="mono" data-testid="clock" aria-live="off">
          {fmtClock(time)} / {fmtClock(total)}
        </span>
        <label class="inline">
          Speed
          <select
            value={String(speed)}
            onChange={(e) => {
              const v = Number((e.target as HTMLSelectElement).value);
              setSpeed(v);
              pl?.setSpeed(v);
            }}
          >
            {speeds.map((s) => (
              <option key={s} value={String(s)}>
                {s}×
              </option>
            ))}
          </select>
        </label>
        <label class="inline">
          <input
            type="checkbox"
            checked={skip}
            onChange={(e) => {
              const v = (e.target as HTMLInputElement).checked;
              setSkip(v);
              pl?.setSkipInactive(v);
            }}
          />
          Skip inactivity
        </label>
        <span class="small muted">Space: play/pause · ←/→: 5 s</span>
      </div>
      <div>
        <h3>Events</h3>
        {marked.length === 0 ? (
          <Empty title="No events to list." />
        ) : (
          <ol class="event-list" ref={listRef} aria-label="Session events; activate one to jump there">
            {marked.map((m, i) => (
              <li key={m.e.uuid} class={i === currentIdx ? 'current' : m.at <= time ? 'past' : 'future'}>
                <button type="button" onClick={() => seek(m.at - 500)}>
                  <span class="mono small">{fmtClock(Math.max(0, m.at))}</span>
                  <span>
                    <span class={`badge ${m.kind === 'rage' ? 'rage' : m.kind === 'dead' ? 'dead' : m.kind === 'error' ? 'error' : ''}`}>{eventLabel(m.e.event)}</span>{' '}
                    <span class="small">{m.e.selector ? m.e.selector : pathOf(m.e.url)}</span>
                  </span>
                </button>
              </li>
            ))}
          </ol>
        )}
      </div>
    </div>
  );
}
