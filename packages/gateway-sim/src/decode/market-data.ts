import type { ContractQuery } from '../engine/catalogue.js';
import type { FieldReader } from '../wire/fields.js';
import { readContract, skipComboLegs } from './contract.js';

export interface MktDataRequest {
  reqId: number;
  contract: ContractQuery;
  genericTicks: string;
  snapshot: boolean;
  regulatorySnapshot: boolean;
}

/** REQ_MKT_DATA at message version 11. */
export function readMktData(r: FieldReader): MktDataRequest {
  r.readInt('version');
  const reqId = r.readInt('reqId');
  const contract = readContract(r);
  skipComboLegs(r, contract.secType);
  if (r.readBool('deltaNeutralContract')) {
    r.readStr('dnConId');
    r.readStr('dnDelta');
    r.readStr('dnPrice');
  }
  const genericTicks = r.readStr('genericTickList');
  const snapshot = r.readBool('snapshot');
  const regulatorySnapshot = r.readBool('regulatorySnapshot');
  r.skipRest();
  return { reqId, contract, genericTicks, snapshot, regulatorySnapshot };
}

export interface HistoricalRequest {
  reqId: number;
  contract: ContractQuery;
  includeExpired: boolean;
  endDateTime: string;
  barSize: string;
  duration: string;
  useRTH: boolean;
  whatToShow: string;
  formatDate: number;
  keepUpToDate: boolean;
}

/** REQ_HISTORICAL_DATA without a version (≥ SYNT_REALTIME_BARS). */
export function readHistorical(r: FieldReader): HistoricalRequest {
  const reqId = r.readInt('reqId');
  const contract = readContract(r);
  const includeExpired = r.readBool('includeExpired');
  const endDateTime = r.readStr('endDateTime');
  const barSize = r.readStr('barSizeSetting');
  const duration = r.readStr('durationStr');
  const useRTH = r.readBool('useRTH');
  const whatToShow = r.readStr('whatToShow');
  const formatDate = r.readInt('formatDate');
  skipComboLegs(r, contract.secType);
  const keepUpToDate = r.readBool('keepUpToDate');
  r.skipRest();
  return {
    reqId,
    contract,
    includeExpired,
    endDateTime,
    barSize,
    duration,
    useRTH,
    whatToShow,
    formatDate,
    keepUpToDate,
  };
}

/** REQ_HEAD_TIMESTAMP: reqId, contract, includeExpired, useRTH, whatToShow, formatDate. */
export function readHeadTimestamp(r: FieldReader): {
  reqId: number;
  contract: ContractQuery;
  whatToShow: string;
  formatDate: number;
} {
  const reqId = r.readInt('reqId');
  const contract = readContract(r);
  r.readBool('includeExpired');
  r.readBool('useRTH');
  const whatToShow = r.readStr('whatToShow');
  const formatDate = r.readInt('formatDate');
  return { reqId, contract, whatToShow, formatDate };
}
