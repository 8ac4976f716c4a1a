import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed, expiring links to UIS resources that our backend serves to the portal
 * (docs/facts/uis.md#rule-20: re-host attachments; the portal must be able to fetch them).
 * `/files/uis/<member>/<channel>/<resource>/<token>/<name>?exp=<unix s>&sig=<hmac>`.
 */
export interface FileRef {
  memberId: string;
  channelId: string;
  resourceId: string;
  token: string;
  name: string;
}

export interface FileSigner {
  url(ref: FileRef, ttlSec?: number): string;
  /** The reference when the path and signature are valid and not expired. */
  verify(path: { memberId: string; channelId: string; resourceId: string; token: string; name: string }, exp: string, sig: string): FileRef | null;
}

export function createFileSigner(o: { secret: string; appUrl: string; now(): number; ttlSec?: number }): FileSigner {
  const key = createHmac('sha256', o.secret).update('bridge-files').digest();
  // Structured input (a JSON array): no two different links sign the same bytes, whatever their
  // fields contain (a `|`-joined string let `a|b` + `c` sign like `a` + `b|c`).
  const mac = (r: FileRef, exp: number) =>
    createHmac('sha256', key).update(JSON.stringify(['file-link-v2', r.memberId, r.channelId, r.resourceId, r.token, r.name, exp])).digest('base64url');
  const base = o.appUrl.replace(/\/+$/, '');
  return {
    url(r, ttlSec = o.ttlSec ?? 7 * 24 * 3600) {
      const exp = Math.floor(o.now() / 1000) + ttlSec;
      const seg = [r.memberId, r.channelId, r.resourceId, r.token, r.name].map(encodeURIComponent).join('/');
      return `${base}/files/uis/${seg}?exp=${exp}&sig=${mac(r, exp)}`;
    },
    verify(p, exp, sig) {
      const e = Number(exp);
      if (!Number.isInteger(e) || e * 1000 < o.now()) return null;
      const want = Buffer.from(mac(p, e));
      const got = Buffer.from(String(sig));
      if (want.length !== got.length || !timingSafeEqual(want, got)) return null;
      return p;
    },
  };
}
