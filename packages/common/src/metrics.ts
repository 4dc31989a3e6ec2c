import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Two registries per process: `app` holds the process's own metrics (lint-clean with
 * `promtool check metrics`), `all` merges them with prom-client's default process metrics for /metrics.
 * prom-client's defaults include three gauges named `*_total`, which promtool rejects; keeping them apart
 * lets tests lint exactly what we own.
 */
export interface MetricsRegistries {
  app: Registry;
  process: Registry;
  /** Text exposition of both registries. */
  render(): Promise<string>;
  contentType: string;
}

export function createRegistries(): MetricsRegistries {
  const app = new Registry();
  const proc = new Registry();
  collectDefaultMetrics({ register: proc });
  return {
    app,
    process: proc,
    contentType: app.contentType,
    async render() {
      return (await app.metrics()) + '\n' + (await proc.metrics());
    },
  };
}
