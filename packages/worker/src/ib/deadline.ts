/** When a caller stops waiting: absolute time plus the timeout it came from (for messages). */
export interface Deadline {
  deadlineAt: number;
  timeoutMs: number;
}

export function deadlineIn(timeoutMs: number, now = Date.now()): Deadline {
  return { deadlineAt: now + timeoutMs, timeoutMs };
}
