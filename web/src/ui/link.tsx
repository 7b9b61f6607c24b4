import type { AnchorHTMLAttributes } from 'preact';
import { useEffect } from 'preact/hooks';
import { navigate } from '../lib/router';

type AnchorProps = AnchorHTMLAttributes<HTMLAnchorElement> & { href: string };

/** An <a> that navigates inside the app without a page load (but still opens in a new tab with a modifier). */
export function Link(props: AnchorProps) {
  const { href, onClick, ...rest } = props;
  return (
    <a
      href={href}
      {...rest}
      onClick={(e) => {
        if (onClick) (onClick as (e: MouseEvent) => void)(e);
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(href);
      }}
    />
  );
}

export function Logo() {
  return (
    <svg viewBox="0 0 32 32" aria-hidden="true">
      <rect width="32" height="32" rx="7" fill="#3b5bdb" />
      <path d="M6 20c4-9 8-13 10-13s5 5 10 13" stroke="#fff" stroke-width="3" fill="none" stroke-linecap="round" />
      <circle cx="16" cy="20" r="3" fill="#fff" />
    </svg>
  );
}

/** Replaces the URL after render (navigating during render would update other components mid-render). */
export function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, true), [to]);
  return null;
}
