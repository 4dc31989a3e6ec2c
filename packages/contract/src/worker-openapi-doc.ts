import doc from './worker-openapi.json' with { type: 'json' };

/**
 * The workers' OpenAPI paths and components, generated from the worker's route table
 * (`npm run openapi -w @ibrest/worker`; a worker test fails when this copy is stale). The proxy builds its
 * own document from it: no worker is asked at run time.
 */
export const WORKER_OPENAPI: {
  paths: Record<string, Record<string, any>>;
  components: Record<string, Record<string, any>>;
} = doc as never;
