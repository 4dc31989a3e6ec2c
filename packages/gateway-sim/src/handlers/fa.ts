import { FA_DATA_TYPE, FA_ROOT, faXmlProblem } from '../engine/fa-config.js';
import { receiveFa, replaceFaEnd } from '../encode/feeds.js';
import { IN } from '../wire/msg-ids.js';
import { MIN_SERVER_VER } from '../wire/server-versions.js';
import type { Session } from '../session.js';
import type { FieldReader } from '../wire/fields.js';
import type { HandlerEntry, SimContext } from './context.js';

/** REQ_FA carries no request id: TWS answers its errors with id Integer.MAX_VALUE. */
const NO_REQ_ID = 2147483647;
const validationError = (cause: string): string => `Error validating request.-'b9' : cause - ${cause}`;
const NOT_FA = validationError('FA data operations ignored for non FA customers.');

/** Why this FA data type cannot be used at the session's version, or undefined. */
function typeProblem(s: Session, faDataType: number): string | undefined {
  if (!FA_ROOT[faDataType]) return validationError('Non-existent FA data operation request');
  if (faDataType === FA_DATA_TYPE.profiles && s.serverVersion >= MIN_SERVER_VER.FA_PROFILE_DESUPPORT) {
    return validationError('FA Profile is not supported anymore, use FA Group instead.');
  }
  return undefined;
}

function requestFa(ctx: SimContext, s: Session, r: FieldReader): void {
  r.readInt('version');
  const faDataType = r.readInt('faDataType');
  const fa = ctx.feeds.fa;
  const problem = fa ? typeProblem(s, faDataType) : NOT_FA;
  if (problem) {
    s.sendError(NO_REQ_ID, 321, problem);
    return;
  }
  s.send(receiveFa(faDataType, fa!.docs.get(faDataType)!));
}

/** REPLACE_FA: version, faDataType, xml, reqId (≥ REPLACE_FA_END) → REPLACE_FA_END. */
function replaceFa(ctx: SimContext, s: Session, r: FieldReader): void {
  r.readInt('version');
  const faDataType = r.readInt('faDataType');
  const xml = r.readStr('xml');
  const reqId = s.serverVersion >= MIN_SERVER_VER.REPLACE_FA_END ? r.readInt('reqId') : NO_REQ_ID;
  const fa = ctx.feeds.fa;
  const problem = !fa
    ? NOT_FA
    : (typeProblem(s, faDataType) ??
      (() => {
        const p = faXmlProblem(faDataType, xml);
        return p ? validationError(p) : undefined;
      })());
  if (problem) {
    s.sendError(reqId, 321, problem);
    return;
  }
  fa!.docs.set(faDataType, xml);
  s.send(replaceFaEnd(reqId, ''));
}

export const FA_HANDLERS: Array<[number, HandlerEntry]> = [
  [IN.REQ_FA, { name: 'REQ_FA', handle: requestFa }],
  [IN.REPLACE_FA, { name: 'REPLACE_FA', handle: replaceFa }],
];
