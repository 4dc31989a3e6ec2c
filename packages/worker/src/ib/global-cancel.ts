import { PRIORITY } from './pacer.js';
import type { Requests } from './requests.js';

/**
 * reqGlobalCancel: IB cancels every open order of the account, whichever client placed it (also those
 * placed by hand in TWS). The last resort when orders must stop and the placing client cannot act.
 * IB sends no direct answer; the cancellations arrive as order status changes.
 */
export async function sendGlobalCancel(requests: Requests): Promise<void> {
  const sessionId = requests.assertServing();
  await requests.sendInSession(sessionId, 'global_cancel', (api) => api.reqGlobalCancel(), {
    priority: PRIORITY.cancel,
  });
}
