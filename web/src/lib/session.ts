import { createContext } from 'preact';
import { useContext, useEffect } from 'preact/hooks';

export type Role = 'admin' | 'member' | 'viewer';

export interface Me {
  user: { id: number; email: string; name: string; role: 'admin' | 'member' };
  csrf_token: string;
  projects: { id: number; name: string; role: Role }[];
}

export interface SessionCtx {
  me: Me;
  reloadMe: () => Promise<void>;
  logout: () => Promise<void>;
  toast: (msg: string) => void;
}

export const Session = createContext<SessionCtx | null>(null);

export function useSession(): SessionCtx {
  const s = useContext(Session);
  if (!s) throw new Error('no session');
  return s;
}

export interface ProjectCtx {
  id: number;
  name: string;
  role: Role;
  /** Members and admins edit insights, dashboards, actions and segments. */
  canEdit: boolean;
  isAdmin: boolean;
}

export const Project = createContext<ProjectCtx | null>(null);

export function useProject(): ProjectCtx {
  const p = useContext(Project);
  if (!p) throw new Error('no project');
  return p;
}

export function useTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · Sightline` : 'Sightline';
  }, [title]);
}
