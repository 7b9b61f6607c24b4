// The insight pages load on first use: most visits never open them, and the
// first page stays small (issue 5's budget).

import { lazyPage } from '../ui/lazy';

export const FeedPage = lazyPage(() => import('./feed').then((m) => m.FeedPage));
export const ClustersPage = lazyPage(() => import('./clusters').then((m) => m.ClustersPage));
export const ClusterSessionsPage = lazyPage(() => import('./clusters').then((m) => m.ClusterSessionsPage));
export const AlertsPage = lazyPage(() => import('./alerts').then((m) => m.AlertsPage));
export const NewAlertPage = lazyPage(() => import('./alerts').then((m) => m.NewAlertPage));
export const AlertPage = lazyPage(() => import('./alerts').then((m) => m.AlertPage));
