import type { NextFunction, Request, Response } from 'express';
import { InvalidRequestError } from '@ibrest/common';
import type { FieldError } from './schema.js';

/**
 * Express's query parser keeps undecodable percent-sequences as literal text (`%E0%A4%A` stays as typed), which
 * would reach IB as a symbol. Reject them here, before any route runs: a malformed URL is a client error.
 */
export function rejectBadQueryEncoding(req: Request, _res: Response, next: NextFunction): void {
  const q = req.originalUrl.indexOf('?');
  if (q < 0) return next();
  const bad: FieldError[] = [];
  for (const pair of req.originalUrl.slice(q + 1).split('&')) {
    if (!pair.includes('%')) continue;
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    for (const part of eq < 0 ? [pair] : [name, pair.slice(eq + 1)]) {
      try {
        decodeURIComponent(part.replace(/\+/g, ' '));
      } catch {
        bad.push({ field: `query.${name.slice(0, 64)}`, message: 'is not valid percent-encoded UTF-8' });
        break;
      }
    }
  }
  if (bad.length > 0)
    return next(new InvalidRequestError('The query string has malformed percent-encoding', { fields: bad }));
  next();
}
