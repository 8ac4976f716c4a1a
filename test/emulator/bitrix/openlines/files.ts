/**
 * Files in open-line chats. Inbound `message.files[{url, name}]` are downloaded by the portal
 * itself (imconnector Library::downloadFile: HttpClient, redirects followed, "Bitrix Connector
 * Client" user agent, only HTTP 200 counts); a URL the portal cannot fetch leaves a broken 0-byte
 * file in the chat, as seen in production with IP-filtered provider hosts (docs/facts/uis.md#media).
 * Operator files get public links served by the portal (`/docs/pub/<hash>/default/` and the short
 * `/~<code>` download link), which is what OnImConnectorMessageAdd `files[]` carries (docs/facts/bitrix24.md#imconnector-events).
 */
import { randomHex } from '../php';
import type { OlFile } from './types';

const MIME: Record<string, string> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  jpe: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  bmp: 'image/bmp',
  pdf: 'application/pdf',
  txt: 'text/plain',
  doc: 'application/msword',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  mp3: 'audio/mpeg',
  ogg: 'audio/ogg',
  mp4: 'video/mp4',
};

export function mimeByName(name: string): string {
  const ext = /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase() ?? '';
  return MIME[ext] ?? 'application/octet-stream';
}

/** Disk\TypeFile image check used for `type` and width/height (docs/facts/bitrix24.md#imconnector-events files[]). */
export const isImage = (f: Pick<OlFile, 'mime'>): boolean => /^image\/(jpeg|png|gif|webp|bmp)$/.test(f.mime);

/** CFile::FormatSize on a Russian portal. */
export function formatSize(size: number): string {
  if (size < 1024) return `${size} Б`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1).replace(/\.0$/, '')} КБ`;
  return `${(size / 1024 / 1024).toFixed(1).replace(/\.0$/, '')} МБ`;
}

/** PNG, GIF and JPEG dimensions straight from the header bytes. */
export function imageSize(b: Buffer): { width: number; height: number } | null {
  if (b.length > 24 && b.readUInt32BE(0) === 0x89504e47) return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
  if (b.length > 10 && b.toString('latin1', 0, 3) === 'GIF') return { width: b.readUInt16LE(6), height: b.readUInt16LE(8) };
  if (b.length > 4 && b[0] === 0xff && b[1] === 0xd8) {
    let i = 2;
    while (i + 9 < b.length) {
      if (b[i] !== 0xff) return null;
      const marker = b[i + 1] ?? 0;
      const len = b.readUInt16BE(i + 2);
      if (marker >= 0xc0 && marker <= 0xc3) return { height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
      i += 2 + len;
    }
  }
  return null;
}

export function makeFile(id: number, name: string, content: Buffer, mime: string, authorId: number, now: number): OlFile {
  const file: OlFile = { id, name, mime, size: content.length, content, fetched: true, sourceUrl: '', error: '', hash: randomHex(12), authorId, date: now };
  if (isImage(file)) Object.assign(file, imageSize(content) ?? {});
  return file;
}

function nameFromUrl(url: string): string {
  try {
    const last = new URL(url).pathname.split('/').filter(Boolean).pop() ?? '';
    return decodeURIComponent(last) || 'file';
  } catch {
    return 'file';
  }
}

/** Library::downloadFile; never throws: a failed download gives a broken file. */
export async function downloadFile(
  id: number,
  spec: { url: string; name?: string; type?: string },
  authorId: number,
  now: number,
): Promise<OlFile> {
  let name = (spec.name ?? '').split(/[\\/]/).pop() || nameFromUrl(spec.url);
  if (name.length > 50) name = name.slice(-50);
  try {
    const res = await fetch(spec.url, {
      redirect: 'follow',
      headers: { 'user-agent': 'Bitrix Connector Client' },
      signal: AbortSignal.timeout(5000),
    });
    const content = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
    const type = spec.type || (res.headers.get('content-type') ?? '').split(';')[0]?.trim() || mimeByName(name);
    const file = makeFile(id, name, content, type === 'application/octet-stream' ? mimeByName(name) : type, authorId, now);
    file.sourceUrl = spec.url;
    return file;
  } catch (err) {
    const file = makeFile(id, name, Buffer.alloc(0), spec.type || mimeByName(name), authorId, now);
    Object.assign(file, { fetched: false, sourceUrl: spec.url, error: err instanceof Error ? err.message : String(err) });
    return file;
  }
}

export const fileLink = (origin: string, f: OlFile): string => `${origin}/docs/pub/${f.hash}/default/?&`;
export const fileDownloadLink = (origin: string, f: OlFile): string => `${origin}/~${f.hash.slice(0, 8)}`;
