import type { RouteDef } from '../http/route.js';
import { accountRoutes } from './account.js';
import { contractRoutes } from './contracts.js';
import type { RouteDeps } from './deps.js';
import { executionRoutes } from './executions.js';
import { infoFeedRoutes } from './feeds-info.js';
import { marketFeedRoutes } from './feeds-market.js';
import { newsRoutes } from './feeds-news.js';
import { healthRoutes } from './health.js';
import { marketRoutes } from './market.js';
import { orderRoutes } from './orders.js';

/** The route table: the app registers it and /openapi.json is rendered from it. */
export function allRoutes(deps: RouteDeps): RouteDef[] {
  return [
    ...orderRoutes(deps),
    ...accountRoutes(deps),
    ...executionRoutes(deps),
    ...contractRoutes(deps),
    ...marketRoutes(deps),
    ...marketFeedRoutes(deps),
    ...infoFeedRoutes(deps),
    ...newsRoutes(deps),
    ...healthRoutes(deps),
  ];
}
