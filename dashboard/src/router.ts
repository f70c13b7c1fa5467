// Paths under /dashboard/ with the History API: "/" (overview and jobs, filters in the
// query string) and "/jobs/<id>". The server answers index.html for both.
import { useEffect, useState } from 'preact/hooks';

export const BASE = '/dashboard';

export interface Route {
  path: string;
  params: URLSearchParams;
}

const current = (): Route => ({ path: location.pathname.slice(BASE.length) || '/', params: new URLSearchParams(location.search) });

export function navigate(to: string, replace = false) {
  const url = `${BASE}${to}`;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  dispatchEvent(new PopStateEvent('popstate'));
  if (!replace) scrollTo(0, 0);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const onChange = () => setRoute(current());
    addEventListener('popstate', onChange);
    return () => removeEventListener('popstate', onChange);
  }, []);
  return route;
}

/** A link inside the dashboard (plain click navigates in place; modified clicks open as usual). */
export function linkProps(to: string) {
  return {
    href: `${BASE}${to}`,
    onClick: (event: MouseEvent) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      navigate(to);
    },
  };
}
