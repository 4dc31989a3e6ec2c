import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { GatewayControl } from './control.js';
import type { SubscriptionKind } from '../subscriptions.js';
import type { OrderQuirks } from '../engine/matching-engine.js';
import type { SessionOption } from '../session-profile.js';

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 1_000_000) throw new HttpError(413, 'body too large');
    chunks.push(c as Buffer);
  }
  if (size === 0) return {};
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch {
    throw new HttpError(400, 'expected a JSON object body');
  }
}

function num(v: unknown, name: string, optional = false): number | undefined {
  if (v === undefined && optional) return undefined;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n))
    throw new HttpError(400, `expected ${name} to be a number, got ${JSON.stringify(v)}`);
  return n;
}

type Route = (c: GatewayControl, b: Record<string, unknown>, q: URLSearchParams, m: RegExpMatchArray) => unknown;

/** method + path pattern → handler. Bodies and answers are JSON. */
const ROUTES: Array<[string, RegExp, Route]> = [
  [
    'POST',
    /^\/prices$/,
    (c, b) => c.setPrice(typeof b.symbol === 'string' ? b.symbol : num(b.conId, 'conId')!, num(b.price, 'price')!),
  ],
  [
    'GET',
    /^\/prices\/([^/]+)$/,
    (c, _b, _q, m) =>
      c.quote(decodeURIComponent(m[1]!)) ??
      (() => {
        throw new HttpError(404, 'unknown instrument');
      })(),
  ],
  [
    'POST',
    /^\/orders\/fill-next$/,
    (c, b) => {
      c.fillNext({
        price: num(b.price, 'price', true),
        quantities: Array.isArray(b.quantities) ? b.quantities.map((x) => num(x, 'quantities[]')!) : undefined,
      });
      return { ok: true };
    },
  ],
  [
    'POST',
    /^\/orders\/stream$/,
    (c, b) => {
      const flag = (v: unknown) => (v === undefined ? undefined : v === true);
      c.orderStream({ statusFirst: flag(b.statusFirst), silent: flag(b.silent) });
      return { ok: true };
    },
  ],
  [
    'POST',
    /^\/orders\/reject-next$/,
    (c, b) => {
      c.rejectNext({
        code: num(b.code, 'code', true),
        text: typeof b.text === 'string' ? b.text : undefined,
        status: b.status === 'Inactive' ? 'Inactive' : undefined,
      });
      return { ok: true };
    },
  ],
  [
    'POST',
    /^\/orders\/fill$/,
    (c, b) => ({
      ok: c.fillOrder(
        {
          permId: num(b.permId, 'permId', true),
          orderId: num(b.orderId, 'orderId', true),
          clientId: num(b.clientId, 'clientId', true),
        },
        num(b.quantity, 'quantity', true),
        num(b.price, 'price', true),
      ),
    }),
  ],
  [
    'POST',
    /^\/refusals$/,
    (c, b) => {
      try {
        c.refuseNext({
          code: num(b.code, 'code')!,
          count: num(b.count, 'count', true),
          name: typeof b.name === 'string' ? b.name : undefined,
          text: typeof b.text === 'string' ? b.text : undefined,
        });
      } catch (err) {
        throw new HttpError(400, (err as Error).message);
      }
      return { ok: true };
    },
  ],
  ['DELETE', /^\/refusals$/, (c) => ({ cleared: c.clearRefusals() })],
  ['GET', /^\/orders$/, (c) => c.orders()],
  ['GET', /^\/what-ifs$/, (c) => c.whatIfs()],
  ['GET', /^\/executions$/, (c) => c.executions()],
  ['GET', /^\/positions$/, (c) => c.positions()],
  [
    'POST',
    /^\/delay$/,
    (c, b) => {
      c.delayReplies(num(b.ms, 'ms')!);
      return { ok: true };
    },
  ],
  [
    'POST',
    /^\/fragment$/,
    (c, b) => {
      c.fragment(num(b.maxChunk, 'maxChunk', true));
      return { ok: true };
    },
  ],
  [
    'POST',
    /^\/restart$/,
    async (c, b) => {
      await c.restart({ downMs: num(b.downMs, 'downMs', true), freshIds: b.freshIds === true });
      return { ok: true };
    },
  ],
  ['GET', /^\/orders\/quirks$/, (c) => c.orderQuirks()],
  ['POST', /^\/orders\/quirks$/, (c, b) => c.orderQuirks(b as Partial<OrderQuirks>)],
  ['GET', /^\/master-client-id$/, (c) => ({ clientId: c.masterClientId() })],
  [
    'POST',
    /^\/master-client-id$/,
    (c, b) => {
      c.setMasterClientId(num(b.clientId, 'clientId')!);
      return { ok: true };
    },
  ],
  [
    'POST',
    /^\/orders\/reset-ids$/,
    (c) => {
      c.resetOrderIds();
      return { ok: true };
    },
  ],
  ['POST', /^\/orders\/forget$/, (c, b) => ({ forgotten: c.forgetOrders({ all: b.all === true }) })],
  ['GET', /^\/next-valid-id\/(-?\d+)$/, (c, _b, _q, m) => ({ orderId: c.nextValidId(Number(m[1])) })],
  [
    'POST',
    /^\/notices$/,
    (c, b) => {
      c.sendNotice(num(b.code, 'code')!, typeof b.text === 'string' ? b.text : undefined);
      return { ok: true };
    },
  ],
  [
    'POST',
    /^\/farms\/([^/]+)\/flap$/,
    async (c, b, _q, m) => {
      await c.flapFarm(decodeURIComponent(m[1]!), { downMs: num(b.downMs, 'downMs', true) });
      return { ok: true };
    },
  ],
  ['GET', /^\/farms$/, (c) => c.farms()],
  ['GET', /^\/session$/, (c) => c.session()],
  ['POST', /^\/session$/, (c, b) => c.setSession((typeof b.profile === 'string' ? b.profile : b) as SessionOption)],
  [
    'POST',
    /^\/client-ids\/(\d+)\/hold$/,
    (c, b, _q, m) => {
      c.holdClientId(Number(m[1]), num(b.ms, 'ms')!);
      return { ok: true };
    },
  ],
  [
    'POST',
    /^\/message-rate$/,
    (c, b) => {
      c.setMessageRate(
        num(b.maxPerSecond, 'maxPerSecond')!,
        b.mode === 'combined' || b.mode === 'per-client' ? b.mode : undefined,
      );
      return { ok: true };
    },
  ],
  ['GET', /^\/violations$/, (c) => c.violations()],
  [
    'DELETE',
    /^\/violations$/,
    (c) => {
      c.resetViolations();
      return { ok: true };
    },
  ],
  [
    'GET',
    /^\/received$/,
    (c, _b, q) =>
      c.received({
        clientId: num(q.get('clientId') ?? undefined, 'clientId', true),
        msgId: num(q.get('msgId') ?? undefined, 'msgId', true),
        name: q.get('name') ?? undefined,
      }),
  ],
  ['GET', /^\/connections$/, (c) => c.connections()],
  ['GET', /^\/market-data-lines$/, (c) => ({ inUse: c.activeMarketDataLines() })],
  ['GET', /^\/depth-books$/, (c) => ({ inUse: c.activeDepthBooks() })],
  ['GET', /^\/subscriptions$/, (c) => c.activeSubscriptions()],
  [
    'POST',
    /^\/subscriptions\/drop$/,
    (c, b) => {
      const kinds = b.kinds === undefined ? undefined : Array.isArray(b.kinds) ? b.kinds : [b.kinds];
      try {
        return { dropped: c.dropSubscriptions(kinds as SubscriptionKind[] | undefined) };
      } catch (err) {
        throw new HttpError(400, (err as Error).message);
      }
    },
  ],
  [
    'POST',
    /^\/real-time-bars\/emit$/,
    (c) => {
      c.emitRealTimeBars();
      return { ok: true };
    },
  ],
  [
    'POST',
    /^\/scanners\/refresh$/,
    (c) => {
      c.refreshScanners();
      return { ok: true };
    },
  ],
  ['GET', /^\/news-bulletins$/, (c) => c.newsBulletins()],
  [
    'POST',
    /^\/news-bulletins$/,
    (c, b) =>
      c.pushNewsBulletin({
        message: b.message as string,
        type: num(b.type, 'type', true),
        exchange: typeof b.exchange === 'string' ? b.exchange : undefined,
      }),
  ],
  ['GET', /^\/display-groups$/, (c) => c.displayGroups()],
  [
    'POST',
    /^\/display-groups\/(\d+)$/,
    (c, b, _q, m) => {
      c.setDisplayGroup(Number(m[1]), String(b.contractInfo ?? ''));
      return { ok: true };
    },
  ],
  [
    'GET',
    /^\/fa$/,
    (c) =>
      c.faConfig() ??
      (() => {
        throw new HttpError(404, 'not an FA login');
      })(),
  ],
];

/** Serves the control API as JSON over HTTP (loopback only: it can move prices and drop clients). */
export function startControlServer(control: GatewayControl, port: number, host = '127.0.0.1'): Promise<Server> {
  const server = createServer((req, res: ServerResponse) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://control');
      const route = ROUTES.find(([m, re]) => m === req.method && re.test(url.pathname));
      try {
        if (!route) throw new HttpError(404, `no control route ${req.method} ${url.pathname}`);
        const b = req.method === 'POST' ? await body(req) : {};
        const out = await route[2](control, b, url.searchParams, url.pathname.match(route[1])!);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out ?? { ok: true }));
      } catch (err) {
        const status = err instanceof HttpError ? err.status : 400;
        res
          .writeHead(status, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: { code: 'CONTROL_ERROR', message: (err as Error).message } }));
      }
    })();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
