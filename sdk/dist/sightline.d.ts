// Types for the Sightline browser SDK (sightline.esm.js). Generated from src/api.ts.
/** How much page text leaves the browser (see docs/privacy.md). */
export type MaskingMode = 'strict' | 'balanced' | 'relaxed';
/** Event properties: any JSON-serializable values. */
export type Properties = Record<string, unknown>;
export interface ReplayOptions {
    /** Record session replays for this page (server default: the project setting). */
    enabled?: boolean;
    /** Fraction of sessions recorded, 0..1 (decided once per session). */
    sampleRate?: number;
    /** Only upload a recording once the session is at least this old. */
    minDurationMs?: number;
}
export interface RageClickOptions {
    /** Clicks in a streak that make it a rage click (default 3). */
    clicks?: number;
    /** Longest gap between two clicks of a streak (default 1000 ms). */
    intervalMs?: number;
    /** Farthest distance between two clicks of a streak (default 30 px). */
    radiusPx?: number;
}
export interface ThrashOptions {
    /** Pointer direction changes that make a thrash (default 10). */
    changes?: number;
    /** Window the changes must fall in (default 2000 ms). */
    windowMs?: number;
}
export interface InitOptions {
    /** Origin of the Sightline server, e.g. "https://sightline.example.com".
     * Default: the origin the SDK script was loaded from. */
    host?: string;
    /** Master switch; false captures nothing (server default: true). */
    capture?: boolean;
    /** false turns off every autocaptured event; track() still works. */
    autocapture?: boolean;
    capturePageview?: boolean;
    capturePageleave?: boolean;
    captureClicks?: boolean;
    captureForms?: boolean;
    captureErrors?: boolean;
    /** Masking mode (server default: the project setting, else "balanced"). */
    masking?: MaskingMode;
    /** Replay settings; true/false is short for {enabled}. */
    replay?: boolean | ReplayOptions;
    /** Where to load the replay recorder from (default {host}/sdk/recorder.js). */
    recorderUrl?: string;
    /** Fetch the project's settings from {host}/api/sdk/config (default true). */
    remoteConfig?: boolean;
    /** Keep no persistent identifier: ids and the queue live in memory only. */
    cookieless?: boolean;
    /** Capture nothing when the browser sends Do-Not-Track or Global Privacy Control. */
    respectDoNotTrack?: boolean;
    /** Send a batch at least this often (default 3000 ms). */
    flushIntervalMs?: number;
    /** Send as soon as this many events are queued (default 50). */
    batchSize?: number;
    /** Most events kept while the server cannot be reached (default 1000; oldest dropped). */
    maxQueue?: number;
    /** A session ends after this much inactivity (default 30 min). */
    sessionIdleMs?: number;
    /** A session never lasts longer than this (default 24 h). */
    sessionMaxMs?: number;
    rageClick?: RageClickOptions | false;
    /** A click on an interactive element with no reaction within this time is dead (default 2500 ms). */
    deadClickMs?: number | false;
    /** An uncaught error within this time after a click makes it an error click (default 1000 ms). */
    errorClickMs?: number | false;
    thrash?: ThrashOptions | false;
    /** Hovering an interactive element this long is a hesitation (default 1500 ms). */
    hesitationMs?: number | false;
    /** Going back within this time after a page was shown is a quick back (default 5000 ms). */
    quickBackMs?: number | false;
    /** Report forms that were filled in and left without submitting (default true). */
    formAbandonment?: boolean;
    /** Properties added to every event (like register(), but not persisted). */
    properties?: Properties;
    /** Log what the SDK does to the console. */
    debug?: boolean;
}
export interface Sightline {
    /** Start capturing for the project with this public token. */
    init(token: string, options?: InitOptions): void;
    /** Capture a custom event. */
    track(event: string, properties?: Properties): void;
    /** Tie this browser's events to a known user; traits are set on the person. */
    identify(distinctId: string, traits?: Properties): void;
    /** Forget the user: new anonymous id, new session, no registered properties. */
    reset(): void;
    /** Add properties to every later event (persisted unless cookieless). */
    register(properties: Properties): void;
    unregister(name: string): void;
    /** Stop capturing in this browser and remember it. */
    optOut(): void;
    optIn(): void;
    hasOptedOut(): boolean;
    /** Annotate a deploy: sends a $release event with property version. */
    release(version: string): void;
    /** Send queued events now. */
    flush(): void;
    getDistinctId(): string;
    getSessionId(): string;
    readonly version: string;
}
/** The SDK instance; call init() once. */
export declare const sightline: Sightline;
export default sightline;
