import { describe, expect, it } from 'vitest';
import { readNdjson } from '../../app/api/read-ndjson';
import { runInstall } from '../../app/api/install';
import type { InstallProgress } from '../../server/contracts/install';

function streamOf(chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(typeof c === 'string' ? enc.encode(c) : c);
      controller.close();
    },
  });
}

const label = { ru: 'Коннектор', en: 'Connector' };
const plan: InstallProgress = { type: 'plan', steps: [{ id: 'connector', label, status: 'pending' }] };
const running: InstallProgress = { type: 'step', step: { id: 'connector', label, status: 'running' } };
const failed: InstallProgress = {
  type: 'step',
  step: { id: 'connector', label, status: 'failed', error: { code: 'ACCESS_DENIED', message: 'нет прав' } },
};

function ndjson(...events: unknown[]): string {
  return events.map((e) => JSON.stringify(e)).join('\n') + '\n';
}

function fakeFetch(response: () => Response, seen: Request[] = []): typeof fetch {
  return async (input, init) => {
    seen.push(new Request(new URL(String(input), 'http://app.test'), init));
    return response();
  };
}

describe('readNdjson', () => {
  it('when lines are split across chunks (even inside a UTF-8 character), then each line is parsed once, in order', async () => {
    const text = ndjson({ a: 'ёж' }, { b: 2 });
    const bytes = new TextEncoder().encode(text);
    const cut = text.indexOf('ё') + 1; // inside the two bytes of "ё"
    const seen: unknown[] = [];
    await readNdjson(streamOf([bytes.slice(0, cut), bytes.slice(cut, cut + 5), bytes.slice(cut + 5)]), (v) => seen.push(v));
    expect(seen).toEqual([{ a: 'ёж' }, { b: 2 }]);
  });

  it('when the last line has no newline and there are blank lines, then blanks are skipped and the last line counts', async () => {
    const seen: unknown[] = [];
    await readNdjson(streamOf(['{"a":1}\n\n', '  \n{"b"', ':2}']), (v) => seen.push(v));
    expect(seen).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it('when a line is not JSON, then it rejects', async () => {
    await expect(readNdjson(streamOf(['{"a":1}\nnope\n']), () => {})).rejects.toThrow(SyntaxError);
  });
});

describe('runInstall', () => {
  it('when the server streams plan, steps and done, then every event reaches onProgress and done.ok is returned', async () => {
    const seen: Request[] = [];
    const body = ndjson(plan, running, failed, { type: 'done', ok: false });
    const events: InstallProgress[] = [];
    const ok = await runInstall(
      { session: 'S1', fetch: fakeFetch(() => new Response(streamOf([body.slice(0, 30), body.slice(30)])), seen) },
      (e) => events.push(e),
    );
    expect(ok).toBe(false);
    expect(events.map((e) => e.type)).toEqual(['plan', 'step', 'step', 'done']);
    expect(seen[0]?.method).toBe('POST');
    expect(new URL(seen[0]!.url).pathname).toBe('/api/install/run');
    expect(seen[0]?.headers.get('authorization')).toBe('Bearer S1');
  });

  it('when the stream ends without done, then it fails with STREAM_ENDED', async () => {
    const ctx = { session: 'S1', fetch: fakeFetch(() => new Response(ndjson(plan, running))) };
    await expect(runInstall(ctx, () => {})).rejects.toMatchObject({ code: 'STREAM_ENDED' });
  });

  it('when a line does not match the progress schema, then it fails with BAD_PROGRESS', async () => {
    const ctx = { session: 'S1', fetch: fakeFetch(() => new Response(ndjson({ type: 'step', step: { id: 1 } }))) };
    await expect(runInstall(ctx, () => {})).rejects.toMatchObject({ code: 'BAD_PROGRESS' });
  });

  it('when the server answers an apiError, then its code and message surface', async () => {
    const error = { error: 'SESSION_EXPIRED', message: 'Сессия истекла' };
    const ctx = { session: 'S1', fetch: fakeFetch(() => Response.json(error, { status: 401 })) };
    await expect(runInstall(ctx, () => {})).rejects.toMatchObject({ code: 'SESSION_EXPIRED', message: 'Сессия истекла', status: 401 });
  });

  it('when the page has no session, then nothing is sent', async () => {
    const seen: Request[] = [];
    const ctx = { session: null, fetch: fakeFetch(() => new Response(''), seen) };
    await expect(runInstall(ctx, () => {})).rejects.toMatchObject({ code: 'NO_SESSION' });
    expect(seen).toHaveLength(0);
  });
});
