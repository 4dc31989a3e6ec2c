import { startService, type RunningService, type ServiceSpec } from './service.js';

/**
 * Keeps one child alive: restarts it after a crash with capped exponential backoff (1 s, 2 s, 4 s … 30 s),
 * and resets the backoff once a run has lasted a minute. `stop()` ends it for good.
 */
export interface SupervisedOptions {
  spec: ServiceSpec;
  onStart?: (svc: RunningService, attempt: number) => void;
  onExit?: (code: number | string, restartInMs: number | undefined) => void;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** A run this long counts as healthy and resets the backoff. */
  stableAfterMs?: number;
}

export class Supervised {
  private current: RunningService | undefined;
  private stopping = false;
  private attempt = 0;
  private backoffMs: number;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: SupervisedOptions) {
    this.backoffMs = options.initialBackoffMs ?? 1_000;
  }

  get service(): RunningService | undefined {
    return this.current;
  }

  start(): RunningService {
    const svc = startService(this.options.spec);
    const startedAt = Date.now();
    this.current = svc;
    this.attempt += 1;
    this.options.onStart?.(svc, this.attempt);
    void svc.exited.then((code) => {
      if (this.stopping) return;
      const { initialBackoffMs = 1_000, maxBackoffMs = 30_000, stableAfterMs = 60_000 } = this.options;
      if (Date.now() - startedAt >= stableAfterMs) this.backoffMs = initialBackoffMs;
      const delay = this.backoffMs;
      this.backoffMs = Math.min(this.backoffMs * 2, maxBackoffMs);
      this.options.onExit?.(code, delay);
      this.restartTimer = setTimeout(() => this.start(), delay);
    });
    return svc;
  }

  async stop(graceMs?: number): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    await this.current?.stop(graceMs);
  }
}
