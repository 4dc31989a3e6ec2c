import type { RouteDef } from '../http/route.js';
import { FA_DATA_TYPES, type FaDataTypeName } from '../ib/feed-requests.js';
import { DisplayGroupSource, fundamentalSource, scannerSource, type ScannerParams } from '../ib/feed-sources.js';
import type { RouteDeps } from './deps.js';
import { answerDocument, answerFeed, FEED_DESCRIPTION, FEED_PRODUCES, latest, withFormat } from './feeds-common.js';
import { CONTRACT_PROPERTIES, assertNoProblems, contractFromQuery, contractProblems } from './schemas.js';

const REPORT_TYPES = [
  'ReportSnapshot',
  'ReportsFinSummary',
  'ReportRatios',
  'ReportsFinStatements',
  'RESC',
  'ReportsOwnership',
] as const;
const NUM = (description: string) => ({ type: 'number' as const, minimum: 0, maximum: 1e15, description });

/** The scanner subscription fields accepted in the query (IB's ScannerSubscription names). */
const SCANNER_QUERY = {
  scanCode: {
    type: 'string' as const,
    pattern: '^[A-Z0-9_]{1,64}$',
    description: 'Scan code, e.g. TOP_PERC_GAIN (see /market/scanners/parameters)',
  },
  instrument: { type: 'string' as const, pattern: '^[A-Z0-9._]{1,32}$', description: 'Instrument (default STK)' },
  locationCode: {
    type: 'string' as const,
    pattern: '^[A-Z0-9._]{1,64}$',
    description: 'Location (default STK.US.MAJOR)',
  },
  numberOfRows: { type: 'integer' as const, minimum: 1, maximum: 50, description: 'Rows (default 10)' },
  abovePrice: NUM('Price above'),
  belowPrice: NUM('Price below'),
  aboveVolume: NUM('Volume above'),
  marketCapAbove: NUM('Market cap above'),
  marketCapBelow: NUM('Market cap below'),
};

export function infoFeedRoutes(deps: RouteDeps): RouteDef[] {
  const d = deps.feeds;
  const groups = new Map<number, DisplayGroupSource>();
  /** One source object per group, so the live subscription's reqId is found for updates. */
  const groupSource = (id: number) => groups.get(id) ?? groups.set(id, new DisplayGroupSource(id)).get(id)!;
  return [
    {
      method: 'get',
      path: '/news',
      operationId: 'getNewsBulletins',
      summary: 'IB news bulletins (reqNewsBulletins): the recent ones, or a stream of `bulletin` events',
      description: FEED_DESCRIPTION,
      tag: 'feeds',
      usesIb: true,
      query: { type: 'object', additionalProperties: false, properties: withFormat({}) },
      response: { type: 'object', properties: { bulletins: { type: 'array', items: { type: 'object' } } } },
      produces: FEED_PRODUCES,
      errors: {},
      handle: async (ctx) => {
        // Bulletins may never come: nobody waits for a first one longer than a moment.
        const f = {
          kind: 'news' as const,
          sources: [d.ib.newsBulletinsSource()],
          title: 'IB news bulletins',
          firstEventWaitMs: 500,
        };
        return answerFeed(d, ctx, '/news', f, async () => {
          d.requests.assertServing();
          d.hub.hold(f.sources, d.settings.atomLingerMs);
          await d.hub.waitForData(
            f.sources,
            Math.min(f.firstEventWaitMs, Math.max(0, ctx.deadline.deadlineAt - Date.now())),
          );
          const bulletins = d.hub
            .recent(f.sources, d.settings.atomEntries)
            .filter((e) => e.event === 'bulletin')
            .map((e) => e.data);
          return { body: { bulletins } };
        });
      },
    },
    {
      method: 'get',
      path: '/news/providers',
      operationId: 'getNewsProviders',
      summary: 'News providers the account is subscribed to (reqNewsProviders)',
      tag: 'feeds',
      usesIb: true,
      response: { type: 'object', properties: { providers: { type: 'array', items: { type: 'object' } } } },
      errors: { 504: ['DEADLINE_EXCEEDED'] },
      handle: async ({ deadline }) => ({ body: { providers: await d.ib.newsProviders(deadline) } }),
    },
    {
      method: 'get',
      path: '/market/scanners',
      operationId: 'getMarketScanner',
      summary:
        'Market scanner (reqScannerSubscription): one run, or a live subscription streaming a `scan` event per refresh',
      description: FEED_DESCRIPTION,
      tag: 'feeds',
      usesIb: true,
      query: {
        type: 'object',
        additionalProperties: false,
        required: ['scanCode'],
        properties: withFormat(SCANNER_QUERY),
      },
      response: {
        type: 'object',
        properties: { scanCode: { type: 'string' }, rows: { type: 'array', items: { type: 'object' } } },
      },
      produces: FEED_PRODUCES,
      errors: { 400: ['IB_INVALID_REQUEST'], 504: ['DEADLINE_EXCEEDED'] },
      handle: async (ctx) => {
        const { format: _f, timeout: _t, ...q } = ctx.query;
        const params: ScannerParams = {
          instrument: 'STK',
          locationCode: 'STK.US.MAJOR',
          numberOfRows: 10,
          ...q,
        } as ScannerParams;
        const f = { kind: 'scanner' as const, sources: [scannerSource(params)], title: `scanner ${params.scanCode}` };
        return answerFeed(d, ctx, '/market/scanners', f, async () => {
          const [scan] = await latest(d, ctx, f, 'scanner');
          return { body: scan!.data };
        });
      },
    },
    {
      method: 'get',
      path: '/market/scanners/parameters',
      operationId: 'getScannerParameters',
      summary: 'Scanner parameters XML (reqScannerParameters; kept for 10 minutes)',
      tag: 'feeds',
      usesIb: true,
      response: { type: 'object', properties: { xml: { type: 'string' } } },
      errors: { 504: ['DEADLINE_EXCEEDED'] },
      handle: async ({ deadline }) => ({ body: { xml: await d.ib.scannerParameters(deadline) } }),
    },
    {
      method: 'get',
      path: '/fundamental',
      operationId: 'getFundamentalData',
      summary: 'Fundamental data report of a contract (reqFundamentalData), the XML wrapped in JSON',
      description: FEED_DESCRIPTION,
      tag: 'feeds',
      usesIb: true,
      query: {
        type: 'object',
        additionalProperties: false,
        properties: withFormat({
          ...CONTRACT_PROPERTIES,
          reportType: { type: 'string', enum: REPORT_TYPES, description: 'Report (default ReportSnapshot)' },
        }),
      },
      response: {
        type: 'object',
        properties: { contract: { type: 'object' }, reportType: { type: 'string' }, xml: { type: 'string' } },
      },
      produces: FEED_PRODUCES,
      errors: { 404: ['CONTRACT_NOT_FOUND', 'NO_DATA'], 504: ['DEADLINE_EXCEEDED'] },
      handle: async (ctx) => {
        const contract = contractFromQuery(ctx.query);
        assertNoProblems(contractProblems(contract, 'query', false));
        const reportType: string = ctx.query.reportType ?? 'ReportSnapshot';
        const f = {
          kind: 'fundamental' as const,
          sources: [fundamentalSource(contract, reportType)],
          title: `fundamental ${reportType} ${contract.symbol ?? contract.conId}`,
        };
        return answerFeed(d, ctx, '/fundamental', f, async () => {
          const [report] = await latest(d, ctx, f, 'fundamental');
          const { xml } = report!.data as { xml: string };
          return { body: { contract, reportType, xml } };
        });
      },
    },
    {
      method: 'get',
      path: '/displaygroups',
      operationId: 'getDisplayGroups',
      summary:
        'TWS display groups (queryDisplayGroups); with groupId: the group contract, ' +
        'or a stream of its `group` events (subscribeToGroupEvents)',
      description: FEED_DESCRIPTION,
      tag: 'feeds',
      usesIb: true,
      query: {
        type: 'object',
        additionalProperties: false,
        properties: withFormat({
          groupId: { type: 'integer', minimum: 1, maximum: 1000, description: 'Display group (needed for streams)' },
        }),
      },
      response: {
        type: 'object',
        properties: {
          groups: { type: 'array', items: { type: 'integer' } },
          groupId: { type: 'integer' },
          contractInfo: { type: 'string' },
        },
      },
      produces: FEED_PRODUCES,
      errors: { 400: ['IB_INVALID_REQUEST'], 504: ['DEADLINE_EXCEEDED'] },
      handle: async (ctx) => {
        const groupId = ctx.query.groupId as number | undefined;
        if (groupId === undefined) {
          const list = await d.ib.queryDisplayGroups(ctx.deadline);
          return answerDocument(d, ctx, '/displaygroups', 'groups', 'TWS display groups', async () => ({
            groups: list,
          }));
        }
        const f = {
          kind: 'display_group' as const,
          sources: [groupSource(groupId)],
          title: `display group ${groupId}`,
        };
        return answerFeed(d, ctx, '/displaygroups', f, async () => {
          const [g] = await latest(d, ctx, f, 'display_group');
          return { body: g!.data };
        });
      },
    },
    {
      method: 'put',
      path: '/displaygroups/:groupId',
      operationId: 'updateDisplayGroup',
      summary:
        'Sets the contract shown by a TWS display group (updateDisplayGroup); answers the group event that follows',
      tag: 'feeds',
      usesIb: true,
      params: {
        type: 'object',
        required: ['groupId'],
        properties: { groupId: { type: 'integer', minimum: 1, maximum: 1000 } },
      },
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['contractInfo'],
        properties: {
          contractInfo: {
            type: 'string',
            pattern: '^(none|combo|\\d+@[A-Za-z0-9.]+)$',
            description: '"conId@exchange", "none" or "combo"',
          },
        },
      },
      response: { type: 'object', properties: { groupId: { type: 'integer' }, contractInfo: { type: 'string' } } },
      errors: { 504: ['DEADLINE_EXCEEDED'] },
      handle: async (ctx) => {
        const source = groupSource(ctx.params.groupId as number);
        d.requests.assertServing();
        const sub = d.hub.subscribe('display_group', [source]);
        try {
          await sub.firstData(Math.max(0, ctx.deadline.deadlineAt - Date.now()));
          await d.ib.updateDisplayGroup(source, ctx.body.contractInfo as string, ctx.deadline);
          // IB confirms with a group event carrying the new contract.
          const until = ctx.deadline.deadlineAt;
          for (;;) {
            const e = d.hub.current([source])[0];
            if (e !== undefined && (e.data as { contractInfo: string }).contractInfo === ctx.body.contractInfo)
              return { body: e.data };
            if (Date.now() >= until) return { body: e?.data ?? { groupId: source.groupId }, status: 202 };
            await new Promise((r) => setTimeout(r, 20));
          }
        } finally {
          sub.close();
        }
      },
    },
    {
      method: 'get',
      path: '/financial',
      operationId: 'getFinancialAdvisorConfig',
      summary: 'Financial-advisor configuration XML (requestFA): groups, profiles or aliases',
      description:
        'JSON by default; `?format=sse` sends the document as one `fa` event, `?format=atom` as a one-entry Atom feed.',
      tag: 'feeds',
      usesIb: true,
      query: {
        type: 'object',
        additionalProperties: false,
        properties: withFormat({
          type: {
            type: 'string',
            enum: Object.keys(FA_DATA_TYPES),
            description: 'groups (default), profiles or aliases',
          },
        }),
      },
      response: { type: 'object', properties: { type: { type: 'string' }, xml: { type: 'string' } } },
      produces: FEED_PRODUCES,
      errors: { 409: ['NOT_FA_ACCOUNT'], 504: ['DEADLINE_EXCEEDED'] },
      handle: (ctx) => {
        const type = (ctx.query.type ?? 'groups') as FaDataTypeName;
        return answerDocument(d, ctx, '/financial', 'fa', `FA ${type}`, async () => ({
          type,
          xml: await d.ib.requestFa(type, ctx.deadline),
        }));
      },
    },
    {
      method: 'put',
      path: '/financial',
      operationId: 'replaceFinancialAdvisorConfig',
      summary: 'Replaces the financial-advisor configuration of one type (replaceFA); FA accounts only',
      tag: 'feeds',
      usesIb: true,
      query: {
        type: 'object',
        additionalProperties: false,
        properties: {
          type: { type: 'string', enum: ['groups', 'profiles'], description: 'groups (default) or profiles' },
        },
      },
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['xml'],
        properties: { xml: { type: 'string', minLength: 1, maxLength: 60_000 } },
      },
      response: { type: 'object', properties: { type: { type: 'string' }, result: { type: 'string' } } },
      errors: { 400: ['IB_INVALID_REQUEST'], 409: ['NOT_FA_ACCOUNT'], 504: ['DEADLINE_EXCEEDED'] },
      handle: async (ctx) => {
        const type = (ctx.query.type ?? 'groups') as FaDataTypeName;
        return { body: { type, result: await d.ib.replaceFa(type, ctx.body.xml as string, ctx.deadline) } };
      },
    },
  ];
}
