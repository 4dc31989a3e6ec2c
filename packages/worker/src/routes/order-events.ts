import type { OrderEvent, OrderJournal } from '@ibrest/order-safety';
import { atomResponse, buildAtomFeed, tagUri } from '../http/atom.js';
import { ATOM_MEDIA_TYPE, feedFormat, FORMAT_PARAM, SSE_CONTENT_TYPE } from '../http/feed-format.js';
import type { RouteDef } from '../http/route.js';
import type { Schema } from '../http/schema.js';
import { DEFAULT_HEARTBEAT_MS, SseStream } from '../http/sse.js';

const EVENT_SCHEMA: Schema = {
  type: 'object',
  properties: {
    cursor: { type: 'integer' },
    time: { type: 'string' },
    type: {
      type: 'string',
      enum: [
        'accepted',
        'sent',
        'status',
        'fill',
        'commission',
        'modify-requested',
        'cancel-requested',
        'cancelled',
        'rejected',
      ],
    },
    orderId: { type: 'integer' },
    permId: { type: 'integer' },
    clientId: { type: 'integer' },
    orderRef: { type: 'string' },
    idempotencyKey: { type: 'string' },
    status: { type: 'string' },
    execId: { type: 'string' },
    ibCode: { type: 'integer' },
    reconciled: { type: 'boolean' },
    data: { type: 'object' },
  },
};

/**
 * GET /order/events: the durable order journal from a cursor. JSON pages (`nextCursor` feeds the next
 * `since`); `format=sse` (or Accept: text/event-stream) replays from `since` / `Last-Event-ID` and then
 * streams live, without gaps or duplicates, event ids being cursors; `format=atom` gives the page as
 * an Atom document (newest first). Served from disk: works while IB is away.
 */
export function orderEventRoutes(deps: { journal: OrderJournal; heartbeatMs?: number }): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/order/events',
      operationId: 'listOrderEvents',
      summary:
        'The durable order journal (accepted, sent, status changes, fills, commissions, cancels, rejections) ' +
        'from a cursor',
      description:
        'Events in cursor order after `since`. ' +
        '`reconciled: true` marks events recovered after a reconnect rather than seen live. ' +
        '`format=sse` streams (resuming from `Last-Event-ID`), `format=atom` answers an Atom feed of the page.',
      tag: 'orders',
      usesIb: false,
      query: {
        type: 'object',
        additionalProperties: false,
        properties: {
          since: {
            type: 'integer',
            minimum: 0,
            description: 'Cursor of the last event already seen (default 0: from the start)',
          },
          limit: {
            type: 'integer',
            minimum: 1,
            maximum: 1000,
            description: 'Most events in one JSON/Atom page (default 100)',
          },
          format: FORMAT_PARAM,
        },
      },
      response: {
        type: 'object',
        properties: {
          events: { type: 'array', items: EVENT_SCHEMA },
          nextCursor: { type: 'integer', description: 'Pass as `since` for the next page' },
          lastCursor: { type: 'integer', description: 'Cursor of the newest durable event' },
        },
      },
      produces: [SSE_CONTENT_TYPE, ATOM_MEDIA_TYPE],
      errors: {},
      handle: async ({ query, headers }) => {
        const format = feedFormat(query, headers);
        const lastEventId = Number(headers['last-event-id']);
        const since =
          Number.isInteger(lastEventId) && lastEventId >= 0 ? lastEventId : ((query.since as number | undefined) ?? 0);
        if (format === 'sse') {
          return {
            body: null,
            respond: (req, res) => {
              const stream = new SseStream(req, res, { heartbeatMs: deps.heartbeatMs ?? DEFAULT_HEARTBEAT_MS });
              const off = deps.journal.subscribe((e) => stream.send({ id: e.cursor, event: e.type, data: e }), {
                since,
              });
              stream.onClose(off);
            },
          };
        }
        const events = await deps.journal.read({ since, limit: (query.limit as number | undefined) ?? 100 });
        if (format === 'atom') {
          const xml = buildAtomFeed({
            id: tagUri('/order/events'),
            title: 'ibrest order journal',
            updated: events.at(-1)?.time ?? new Date(0).toISOString(),
            selfHref: `/order/events?since=${since}`,
            entries: [...events].reverse().map(atomEntry),
          });
          return atomResponse(xml);
        }
        return { body: { events, nextCursor: events.at(-1)?.cursor ?? since, lastCursor: deps.journal.lastCursor } };
      },
    },
  ];
}

function atomEntry(e: OrderEvent) {
  const what = e.status ?? e.execId ?? e.type;
  return {
    id: tagUri(`/order/events/${e.cursor}`),
    title:
      `order ${e.orderId ?? e.permId ?? '?'} ${e.type}` +
      `${what === e.type ? '' : ` ${what}`}${e.reconciled ? ' (reconciled)' : ''}`,
    updated: e.time,
    category: e.type,
    content: JSON.stringify(e),
  };
}
