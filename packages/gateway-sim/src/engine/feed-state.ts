import { FaConfig } from './fa-config.js';

/** One IB news bulletin (type 1 regular, 2 exchange unavailable, 3 exchange available again). */
export interface Bulletin {
  id: number;
  type: number;
  message: string;
  exchange: string;
  /** Epoch ms. */
  time: number;
}

/** TWS's display groups: seven colour-linked groups, each showing one contract or none. */
export const DISPLAY_GROUP_IDS = [1, 2, 3, 4, 5, 6, 7] as const;

/**
 * Account-wide state of the non-price feeds, shared by every client as one TWS shares it: the day's news
 * bulletins, what each display group shows, and the FA configuration of an advisor login.
 */
export class FeedState {
  readonly bulletins: Bulletin[] = [];
  /** groupId → contractInfo ("conId@exchange", or "none") */
  readonly displayGroups = new Map<number, string>();
  readonly fa: FaConfig | undefined;
  private nextBulletinId = 1;

  constructor(faMaster: string | undefined, accounts: readonly string[]) {
    for (const g of DISPLAY_GROUP_IDS) this.displayGroups.set(g, 'none');
    this.fa = faMaster ? new FaConfig(faMaster, accounts) : undefined;
  }

  addBulletin(b: Omit<Bulletin, 'id'>): Bulletin {
    const full = { ...b, id: this.nextBulletinId++ };
    this.bulletins.push(full);
    if (this.bulletins.length > 1000) this.bulletins.shift();
    return full;
  }
}
