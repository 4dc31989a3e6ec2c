import type { NextFunction, Request, Response } from 'express';
import { ApiError, type Logger } from '@ibrest/common';

/**
 * The one place errors become HTTP answers: named errors carry their status and code; body-parser
 * failures (malformed JSON, oversized bodies) are client errors; anything else is a 500 that is logged
 * with its stack but never shown to the caller.
 */
export function errorHandler(log: Logger) {
  // express recognises error middleware by its four parameters.
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const reqId = res.locals.reqId as string | undefined;
    const e = toApiError(err);
    if (e.status >= 500 && !(err instanceof ApiError))
      log.error({ err, reqId, method: req.method, url: req.originalUrl }, 'unhandled error');
    else log.info({ reqId, code: e.code, status: e.status, ibCode: e.ibCode }, e.message);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (e.retryAfter !== undefined) res.setHeader('Retry-After', String(e.retryAfter));
    res.status(e.status).json(e.toJSON());
  };
}

export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as { type?: string; status?: number; message?: string; limit?: number } | undefined;
  switch (e?.type) {
    case 'entity.parse.failed':
      return new ApiError(400, 'INVALID_REQUEST', 'The request body is not valid JSON', {
        details: { fields: [{ field: 'body', message: e.message ?? 'malformed JSON' }] },
      });
    case 'entity.too.large':
      return new ApiError(413, 'PAYLOAD_TOO_LARGE', `The request body exceeds ${e.limit ?? 'the'} bytes`, {
        details: { limit: e.limit },
      });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', e.message ?? 'Unsupported body encoding');
    case 'request.aborted':
      return new ApiError(400, 'REQUEST_ABORTED', 'The client aborted the request');
  }
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    return new ApiError(e.status, 'INVALID_REQUEST', e.message ?? 'Bad request');
  }
  return new ApiError(500, 'INTERNAL_ERROR', 'Internal error');
}
