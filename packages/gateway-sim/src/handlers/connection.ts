import { currentTime, managedAccounts, nextValidId } from '../encode/connection.js';
import { IN } from '../wire/msg-ids.js';
import type { HandlerEntry, SimContext } from './context.js';
import type { Session } from '../session.js';
import type { FieldReader } from '../wire/fields.js';

/** START_API: `2, clientId, optionalCapabilities` → MANAGED_ACCTS, NEXT_VALID_ID, farm notices (id −1). */
function startApi(ctx: SimContext, s: Session, r: FieldReader): void {
  r.readInt('version');
  const clientId = r.readInt('clientId');
  if (s.state !== 'awaiting-start') return;
  const refusal = ctx.registerClient(s, clientId);
  if (refusal) {
    s.sendError(-1, 326, refusal);
    ctx.violation({ code: 326, clientId, text: refusal });
    s.endAfterFlush();
    return;
  }
  s.send(managedAccounts(ctx.managedAccounts()));
  s.send(nextValidId(ctx.engine.orders.nextValidId(clientId)));
  for (const n of ctx.farmNotices) s.sendError(-1, n.code, n.text);
}

export const CONNECTION_HANDLERS: Array<[number, HandlerEntry]> = [
  [IN.START_API, { name: 'START_API', handle: startApi }],
  [
    IN.REQ_MANAGED_ACCTS,
    { name: 'REQ_MANAGED_ACCTS', handle: (ctx, s) => s.send(managedAccounts(ctx.managedAccounts())) },
  ],
  [
    IN.REQ_CURRENT_TIME,
    { name: 'REQ_CURRENT_TIME', handle: (ctx, s) => s.send(currentTime(Math.floor(ctx.engine.clock.now() / 1000))) },
  ],
  [
    IN.REQ_IDS,
    {
      name: 'REQ_IDS',
      handle: (ctx, s) => s.send(nextValidId(ctx.engine.orders.nextValidId(s.clientId ?? 0))),
    },
  ],
  // IBApiNext sends this when its log level is set; TWS accepts it silently.
  [IN.SET_SERVER_LOGLEVEL, { name: 'SET_SERVER_LOGLEVEL', handle: () => undefined }],
];
