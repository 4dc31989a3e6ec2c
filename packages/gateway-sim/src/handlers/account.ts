import {
  accountUpdateValues,
  ledgerCurrencies,
  ledgerTags,
  summaryTags,
  type AccountValues,
  type Position,
} from '../engine/accounts.js';
import { accountUpdateMulti, accountUpdateMultiEnd, positionMulti, positionMultiEnd } from '../encode/account-multi.js';
import { ibHourMinute } from '../engine/clock.js';
import {
  accountDownloadEnd,
  accountSummary,
  accountSummaryEnd,
  accountUpdateTime,
  accountValue,
  pnl,
  pnlSingle,
  pnlSingleUnset,
  portfolioValue,
  position,
  positionEnd,
} from '../encode/account.js';
import { IN } from '../wire/msg-ids.js';
import type { HandlerEntry, SimContext } from './context.js';
import type { Session } from '../session.js';
import type { FieldReader } from '../wire/fields.js';

/** Rows of one account for the requested tag list, in the order IB sends them (its tag order). */
export function summaryRows(tags: string, accountType: string, v: AccountValues): Array<[string, string, string]> {
  const wanted = tags
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  const rows: Array<[string, string, string]> = [];
  const all = summaryTags(accountType, v);
  const plain = new Set(wanted.filter((t) => !t.startsWith('$')));
  for (const row of all) if (plain.has(row[0])) rows.push(row);
  for (const t of wanted) {
    if (t === '$LEDGER') rows.push(...ledgerTags(v, ['BASE']));
    else if (t === '$LEDGER:ALL') rows.push(...ledgerTags(v, ledgerCurrencies(v)));
    else if (t.startsWith('$LEDGER:')) rows.push(...ledgerTags(v, [t.slice(8).toUpperCase()]));
  }
  return rows;
}

function reqAccountSummary(ctx: SimContext, s: Session, r: FieldReader): void {
  r.readInt('version');
  const reqId = r.readInt('reqId');
  r.readStr('group');
  const tags = r.readStr('tags');
  s.subs.accountSummary.set(reqId, tags);
  for (const id of ctx.engine.accounts.ids()) {
    for (const [tag, value, cur] of summaryRows(tags, ctx.engine.accountType, ctx.engine.accounts.values(id))) {
      s.send(accountSummary(reqId, id, tag, value, cur));
    }
  }
  s.send(accountSummaryEnd(reqId));
}

/** Sends a full account download: values, portfolio rows, update time, download end. */
export function sendAccountDownload(ctx: SimContext, s: Session, account: string): void {
  const accts = ctx.engine.accounts;
  const a = accts.get(account);
  if (!a) return;
  for (const [k, v, cur] of accountUpdateValues(account, ctx.engine.accountType, accts.values(account))) {
    s.send(accountValue(k, v, cur, account));
  }
  for (const p of a.positions.values()) s.send(portfolioValue(p, accts.markPrice(p.contract), account));
  s.send(accountUpdateTime(ibHourMinute(ctx.engine.clock.now())));
  s.send(accountDownloadEnd(account));
}

function reqAccountUpdates(ctx: SimContext, s: Session, r: FieldReader): void {
  r.readInt('version');
  const subscribe = r.readBool('subscribe');
  const code = r.remaining > 0 ? r.readStr('acctCode') : '';
  if (!subscribe) {
    s.subs.accountUpdates = undefined;
    return;
  }
  const account = code || ctx.engine.accounts.defaultId();
  if (!ctx.engine.accounts.get(account)) {
    s.sendError(-1, 321, `Error validating request:-'bB' : cause - Invalid account code ${account}`);
    return;
  }
  s.subs.accountUpdates = account;
  sendAccountDownload(ctx, s, account);
}

export function sendPositions(ctx: SimContext, s: Session): void {
  for (const id of ctx.engine.accounts.ids()) {
    for (const p of ctx.engine.accounts.get(id)!.positions.values()) s.send(position(id, p));
  }
}

export function sendPnl(ctx: SimContext, s: Session, reqId: number, account: string): void {
  const v = ctx.engine.accounts.values(account);
  s.send(pnl(reqId, v.dailyPnl, v.unrealizedPnl, v.realizedPnl));
}

export function sendPnlSingle(ctx: SimContext, s: Session, reqId: number, account: string, conId: number): void {
  const accts = ctx.engine.accounts;
  const p = accts.get(account)?.positions.get(conId);
  if (!p) {
    s.send(pnlSingleUnset(reqId));
    return;
  }
  const mult = Number(p.contract.multiplier) || 1;
  const value = p.quantity * accts.markPrice(p.contract) * mult;
  const unrealized = value - p.quantity * p.avgCost;
  const q = ctx.engine.market.quote(conId);
  const daily = q ? p.quantity * (q.last - q.close) * mult : 0;
  s.send(pnlSingle(reqId, p.quantity, daily, unrealized, p.realizedPnl, value));
}

function reqPnl(ctx: SimContext, s: Session, r: FieldReader): void {
  const reqId = r.readInt('reqId');
  const account = r.readStr('account') || ctx.engine.accounts.defaultId();
  if (!ctx.engine.accounts.get(account)) {
    s.sendError(reqId, 321, `Error validating request:-'cc' : cause - Invalid account code ${account}`);
    return;
  }
  s.subs.pnl.set(reqId, account);
  sendPnl(ctx, s, reqId, account);
}

function reqPnlSingle(ctx: SimContext, s: Session, r: FieldReader): void {
  const reqId = r.readInt('reqId');
  const account = r.readStr('account') || ctx.engine.accounts.defaultId();
  r.readStr('modelCode');
  const conId = r.readInt('conId');
  if (!ctx.engine.accounts.get(account)) {
    s.sendError(reqId, 321, `Error validating request:-'cd' : cause - Invalid account code ${account}`);
    return;
  }
  s.subs.pnlSingle.set(reqId, { account, conId });
  sendPnlSingle(ctx, s, reqId, account, conId);
}

/** Every value of one account as ACCOUNT_UPDATE_MULTI rows (sent again whole on each change, as IB does). */
export function sendAccountMultiValues(ctx: SimContext, s: Session, reqId: number, account: string): void {
  if (!ctx.engine.accounts.get(account)) return;
  for (const [k, v, cur] of accountUpdateValues(account, ctx.engine.accountType, ctx.engine.accounts.values(account))) {
    s.send(accountUpdateMulti(reqId, account, k, v, cur));
  }
}

export function sendPositionMulti(s: Session, reqId: number, account: string, p: Position): void {
  s.send(positionMulti(reqId, account, p));
}

/**
 * REQ_ACCOUNT_UPDATES_MULTI: version, reqId, account, modelCode, ledgerAndNLV. Any managed account may be
 * followed, several at once; the FA master (which holds no positions here) answers with the end marker only.
 */
function reqAccountUpdatesMulti(ctx: SimContext, s: Session, r: FieldReader): void {
  r.readInt('version');
  const reqId = r.readInt('reqId');
  const account = r.readStr('account');
  r.readStr('modelCode');
  if (r.remaining > 0) r.readBool('ledgerAndNLV');
  if (!ctx.managedAccounts().includes(account)) {
    s.sendError(reqId, 321, `Error validating request:-'cb' : cause - Invalid account code ${account}`);
    return;
  }
  s.subs.accountUpdatesMulti.set(reqId, account);
  sendAccountMultiValues(ctx, s, reqId, account);
  s.send(accountUpdateMultiEnd(reqId));
}

/** reqPositions serves logins of up to this many accounts (IB's positions page); beyond, reqPositionsMulti. */
export const POSITIONS_ALL_MAX_ACCOUNTS = 50;
/** The simulator's answer to reqPositions beyond that: IB documents the limit, not its answer. */
const REQ_POSITIONS_TOO_MANY =
  "Error validating request:-'cd' : cause - reqPositions is not available with more than 50 sub-accounts; " +
  'use reqPositionsMulti';

/** REQ_POSITIONS_MULTI: version, reqId, account ('' or an FA master: every account), modelCode. */
function reqPositionsMulti(ctx: SimContext, s: Session, r: FieldReader): void {
  r.readInt('version');
  const reqId = r.readInt('reqId');
  const account = r.readStr('account');
  r.readStr('modelCode');
  const accts = ctx.engine.accounts;
  const master = account !== '' && !accts.get(account) && ctx.managedAccounts().includes(account);
  const all = account === '' || account === 'All' || master;
  if (!all && !accts.get(account)) {
    s.sendError(reqId, 321, `Error validating request:-'cc' : cause - Invalid account code ${account}`);
    return;
  }
  s.subs.positionsMulti.set(reqId, all ? '' : account);
  for (const id of all ? accts.ids() : [account]) {
    for (const p of accts.get(id)!.positions.values()) sendPositionMulti(s, reqId, id, p);
  }
  s.send(positionMultiEnd(reqId));
}

export const ACCOUNT_HANDLERS: Array<[number, HandlerEntry]> = [
  [IN.REQ_ACCOUNT_SUMMARY, { name: 'REQ_ACCOUNT_SUMMARY', handle: reqAccountSummary }],
  [
    IN.CANCEL_ACCOUNT_SUMMARY,
    {
      name: 'CANCEL_ACCOUNT_SUMMARY',
      handle: (_ctx, s, r) => {
        r.readInt('version');
        s.subs.accountSummary.delete(r.readInt('reqId'));
      },
    },
  ],
  [IN.REQ_ACCOUNT_DATA, { name: 'REQ_ACCOUNT_DATA', handle: reqAccountUpdates }],
  [
    IN.REQ_POSITIONS,
    {
      name: 'REQ_POSITIONS',
      handle: (ctx, s) => {
        // IB: "not available in IB or FA master accounts with very large numbers of subaccounts (> 50)".
        if (ctx.engine.accounts.ids().length > POSITIONS_ALL_MAX_ACCOUNTS) {
          s.sendError(-1, 321, REQ_POSITIONS_TOO_MANY);
          ctx.violation({ code: 321, clientId: s.clientId, text: REQ_POSITIONS_TOO_MANY });
          return;
        }
        s.subs.positions = true;
        sendPositions(ctx, s);
        s.send(positionEnd());
      },
    },
  ],
  [
    IN.CANCEL_POSITIONS,
    {
      name: 'CANCEL_POSITIONS',
      handle: (_ctx, s) => {
        s.subs.positions = false;
      },
    },
  ],
  [IN.REQ_ACCOUNT_UPDATES_MULTI, { name: 'REQ_ACCOUNT_UPDATES_MULTI', handle: reqAccountUpdatesMulti }],
  [
    IN.CANCEL_ACCOUNT_UPDATES_MULTI,
    {
      name: 'CANCEL_ACCOUNT_UPDATES_MULTI',
      handle: (_ctx, s, r) => {
        r.readInt('version');
        s.subs.accountUpdatesMulti.delete(r.readInt('reqId'));
      },
    },
  ],
  [IN.REQ_POSITIONS_MULTI, { name: 'REQ_POSITIONS_MULTI', handle: reqPositionsMulti }],
  [
    IN.CANCEL_POSITIONS_MULTI,
    {
      name: 'CANCEL_POSITIONS_MULTI',
      handle: (_ctx, s, r) => {
        r.readInt('version');
        s.subs.positionsMulti.delete(r.readInt('reqId'));
      },
    },
  ],
  [IN.REQ_PNL, { name: 'REQ_PNL', handle: reqPnl }],
  [
    IN.CANCEL_PNL,
    {
      name: 'CANCEL_PNL',
      handle: (_ctx, s, r) => {
        s.subs.pnl.delete(r.readInt('reqId'));
      },
    },
  ],
  [IN.REQ_PNL_SINGLE, { name: 'REQ_PNL_SINGLE', handle: reqPnlSingle }],
  [
    IN.CANCEL_PNL_SINGLE,
    {
      name: 'CANCEL_PNL_SINGLE',
      handle: (_ctx, s, r) => {
        s.subs.pnlSingle.delete(r.readInt('reqId'));
      },
    },
  ],
];
