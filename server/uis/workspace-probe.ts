/**
 * Is the UIS operator workspace (РМО) reachable? A GET of its base URL from our server with a
 * short timeout; only the status line is read. Any answer below 500 counts (a real РМО may
 * redirect to its login page or answer 401/403 to a stranger), a 5xx, a network error or a
 * timeout does not. Results are cached briefly so opening pages does not hammer UIS.
 * It complements the page's own timeout: our server and the operator's browser do not share a
 * network, so either side may be the one that cannot get through.
 */
export interface WorkspaceProbe {
  reachable(url: string): Promise<boolean>;
}

export function createWorkspaceProbe(o: { fetch?: typeof fetch; now?: () => number; timeoutMs?: number; okTtlMs?: number; failTtlMs?: number } = {}): WorkspaceProbe {
  const now = o.now ?? Date.now;
  const cache = new Map<string, { ok: boolean; until: number }>();
  const inflight = new Map<string, Promise<boolean>>();

  const check = async (url: string): Promise<boolean> => {
    try {
      const res = await (o.fetch ?? fetch)(url, { method: 'GET', redirect: 'manual', signal: AbortSignal.timeout(o.timeoutMs ?? 4000) });
      void res.body?.cancel().catch(() => undefined);
      return res.status < 500;
    } catch {
      return false;
    }
  };

  return {
    async reachable(url) {
      const base = url.split('?')[0]!;
      const hit = cache.get(base);
      if (hit && hit.until > now()) return hit.ok;
      let p = inflight.get(base);
      if (!p) {
        p = check(base).then((ok) => {
          cache.set(base, { ok, until: now() + (ok ? (o.okTtlMs ?? 30_000) : (o.failTtlMs ?? 3000)) });
          if (cache.size > 1000) cache.clear();
          return ok;
        });
        p.finally(() => inflight.delete(base)).catch(() => undefined);
        inflight.set(base, p);
      }
      return p;
    },
  };
}
