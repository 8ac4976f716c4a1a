import { describe, expect, it } from 'vitest';
import type { NextFunction, Request, Response } from 'express';
import { errorHandler } from '../../server/http/app';
import { captureLogs } from '../support/log-capture';

function fakeRes(): Response & { statusCode: number; body?: unknown } {
  const res = {
    headersSent: false,
    statusCode: 200,
    body: undefined as unknown,
    status(code: number) {
      res.statusCode = code;
      return res;
    },
    json(b: unknown) {
      res.body = b;
      return res;
    },
    end() {
      return res;
    },
  };
  return res as unknown as Response & { statusCode: number; body?: unknown };
}

describe('unhandled errors are logged without the secrets in their path', () => {
  const cases = [
    { pattern: '/hooks/jivo/:secret', path: '/hooks/jivo/SENTINEL_JIVO_SECRET' },
    { pattern: '/uis/manager/:token', path: '/uis/manager/SENTINEL_MANAGER_TOKEN' },
  ];
  for (const c of cases) {
    it(`when a handler on ${c.pattern} throws, then the log names the route pattern and not the secret`, () => {
      const cap = captureLogs();
      const req = { path: c.path, url: c.path, originalUrl: c.path, baseUrl: '', route: { path: c.pattern } } as unknown as Request;
      const res = fakeRes();
      errorHandler({ log: cap.log })(new Error('boom'), req, res, (() => undefined) as NextFunction);
      expect(res.statusCode).toBe(500);
      expect(cap.text()).toContain(c.pattern);
      expect(cap.text()).not.toContain(c.path.split('/').pop());
    });
  }

  it('when no route matched, then the log names only the area', () => {
    const cap = captureLogs();
    const path = '/files/uis/1/2/3/SENTINEL_FILE_TOKEN/x.png';
    const req = { path, url: path, originalUrl: path, baseUrl: '' } as unknown as Request;
    errorHandler({ log: cap.log })(new Error('boom'), req, fakeRes(), (() => undefined) as NextFunction);
    expect(cap.text()).toContain('/files/(unmatched)');
    expect(cap.text()).not.toContain('SENTINEL_FILE_TOKEN');
  });
});
