import { ROUTES } from '@ibrest/contract';

/**
 * Worker routes answered from the mirror alone (the route manifest's `needs: ['mirror']`): while the IB link is
 * down they are answered from the mirror's last state with `X-IBRest-Mirror-Age`, or 503 `MIRROR_NOT_SYNCED`
 * when it was never synced.
 */
export const MIRROR_READS: ReadonlySet<string> = new Set(
  ROUTES.filter((r) => r.owner === 'worker' && r.needs.length === 1 && r.needs[0] === 'mirror').map((r) => r.id),
);
