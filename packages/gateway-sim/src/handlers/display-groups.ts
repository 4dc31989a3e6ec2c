import { DISPLAY_GROUP_IDS } from '../engine/feed-state.js';
import { displayGroupList, displayGroupUpdated } from '../encode/feeds.js';
import { IN } from '../wire/msg-ids.js';
import type { Session } from '../session.js';
import type { FieldReader } from '../wire/fields.js';
import type { HandlerEntry, SimContext } from './context.js';

const validationError = (cause: string): string => `Error validating request:-'bG' : cause - ${cause}`;

/**
 * Why a display-group contractInfo is refused, or undefined: TWS's forms are "none", "combo" and
 * "conId@exchange" for a known contract.
 */
export function contractInfoProblem(ctx: SimContext, info: string): string | undefined {
  if (info === 'none' || info === 'combo') return undefined;
  const m = /^(\d+)@([A-Z0-9.]+)$/i.exec(info);
  if (!m) return `Invalid contract info ${info}: expected none, combo or conId@exchange.`;
  return ctx.engine.catalogue.byConId(Number(m[1])) ? undefined : `Unknown conId ${m[1]}.`;
}

/** A group now shows another contract: every client subscribed to that group hears it. */
export function setDisplayGroup(ctx: SimContext, groupId: number, contractInfo: string): void {
  ctx.feeds.displayGroups.set(groupId, contractInfo);
  for (const s of ctx.readySessions()) {
    for (const [reqId, g] of s.subs.displayGroups) if (g === groupId) s.send(displayGroupUpdated(reqId, contractInfo));
  }
}

function subscribe(ctx: SimContext, s: Session, r: FieldReader): void {
  r.readInt('version');
  const reqId = r.readInt('reqId');
  const groupId = r.readInt('groupId');
  const current = ctx.feeds.displayGroups.get(groupId);
  if (current === undefined) {
    s.sendError(reqId, 321, validationError(`Invalid display group id ${groupId}.`));
    return;
  }
  s.subs.displayGroups.set(reqId, groupId);
  s.send(displayGroupUpdated(reqId, current));
}

/** UPDATE_DISPLAY_GROUP: the subscription reqId names the group whose contract changes. */
function update(ctx: SimContext, s: Session, r: FieldReader): void {
  r.readInt('version');
  const reqId = r.readInt('reqId');
  const contractInfo = r.readStr('contractInfo').trim();
  const groupId = s.subs.displayGroups.get(reqId);
  const problem =
    groupId === undefined ? `No display group subscription with id ${reqId}.` : contractInfoProblem(ctx, contractInfo);
  if (problem) {
    s.sendError(reqId, 321, validationError(problem));
    return;
  }
  setDisplayGroup(ctx, groupId!, contractInfo);
}

export const DISPLAY_GROUP_HANDLERS: Array<[number, HandlerEntry]> = [
  [
    IN.QUERY_DISPLAY_GROUPS,
    {
      name: 'QUERY_DISPLAY_GROUPS',
      handle: (_ctx, s, r) => {
        r.readInt('version');
        s.send(displayGroupList(r.readInt('reqId'), DISPLAY_GROUP_IDS.join('|')));
      },
    },
  ],
  [IN.SUBSCRIBE_TO_GROUP_EVENTS, { name: 'SUBSCRIBE_TO_GROUP_EVENTS', handle: subscribe }],
  [IN.UPDATE_DISPLAY_GROUP, { name: 'UPDATE_DISPLAY_GROUP', handle: update }],
  [
    IN.UNSUBSCRIBE_FROM_GROUP_EVENTS,
    {
      name: 'UNSUBSCRIBE_FROM_GROUP_EVENTS',
      handle: (_ctx, s, r) => {
        r.readInt('version');
        s.subs.displayGroups.delete(r.readInt('reqId'));
      },
    },
  ],
];
