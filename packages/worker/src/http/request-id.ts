import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

/** Honoured when it looks like an id (bounded, printable), so a caller cannot inject log lines. */
const VALID = /^[\w.:-]{1,128}$/;

/** Echoes (or creates) X-Request-Id and stamps X-IB-Client-Id on every response. */
export function requestId(clientId: number) {
  return (req: Request, res: Response, next: NextFunction) => {
    const given = req.get('x-request-id');
    const id = given !== undefined && VALID.test(given) ? given : randomUUID();
    res.locals.reqId = id;
    res.setHeader('X-Request-Id', id);
    res.setHeader('X-IB-Client-Id', String(clientId));
    next();
  };
}
