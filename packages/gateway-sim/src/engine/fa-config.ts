/** FA data types of REQ_FA / REPLACE_FA / RECEIVE_FA, as IB numbers them. */
export const FA_DATA_TYPE = { groups: 1, profiles: 2, aliases: 3 } as const;

/** Root element each FA document must have. */
export const FA_ROOT: Record<number, string> = {
  [FA_DATA_TYPE.groups]: 'ListOfGroups',
  [FA_DATA_TYPE.profiles]: 'ListOfAllocationProfiles',
  [FA_DATA_TYPE.aliases]: 'ListOfAccountAliases',
};

const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>';

/** Escapes text for XML element content and attribute values. */
export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The default groups document: one group with every sub-account, allocated by net liquidation. */
export function defaultGroupsXml(accounts: readonly string[]): string {
  const accts = accounts.map((a) => `<Account><acct>${xmlEscape(a)}</acct><amount>0.0</amount></Account>`).join('');
  return (
    `${XML_DECL}<ListOfGroups><Group><name>Everyone</name><defaultMethod>NetLiq</defaultMethod>` +
    `<ListOfAccts varName="list">${accts}</ListOfAccts></Group></ListOfGroups>`
  );
}

/** The default (pre-177) profiles document: equal percentages over the sub-accounts. */
export function defaultProfilesXml(accounts: readonly string[]): string {
  const pct = accounts.length ? Number((100 / accounts.length).toFixed(1)) : 0;
  const allocs = accounts
    .map((a) => `<Allocation><acct>${xmlEscape(a)}</acct><amount>${pct.toFixed(1)}</amount></Allocation>`)
    .join('');
  return (
    `${XML_DECL}<ListOfAllocationProfiles><AllocationProfile><name>EqualPct</name><type>1</type>` +
    `<ListOfAllocations varName="listOfAllocations">${allocs}</ListOfAllocations>` +
    '</AllocationProfile></ListOfAllocationProfiles>'
  );
}

export function defaultAliasesXml(accounts: readonly string[]): string {
  const rows = accounts
    .map((a, i) => `<AccountAlias><account>${xmlEscape(a)}</account><alias>Client ${i + 1}</alias></AccountAlias>`)
    .join('');
  return `${XML_DECL}<ListOfAccountAliases>${rows}</ListOfAccountAliases>`;
}

/**
 * Why an FA document is refused, or undefined when acceptable: it must be one well-nested element tree
 * whose root matches the data type. Enough to catch the usual mistakes (wrong type, truncated XML).
 */
export function faXmlProblem(faDataType: number, xml: string): string | undefined {
  const root = FA_ROOT[faDataType];
  if (!root) return `Invalid FA data type ${faDataType}`;
  const body = xml
    .trim()
    .replace(/^<\?xml[^>]*\?>/, '')
    .trim();
  if (!body) return 'An XML string is required for this operation';
  const stack: string[] = [];
  let first: string | undefined;
  for (const m of body.matchAll(/<(\/?)([A-Za-z_][\w.-]*)[^>]*?(\/?)>/g)) {
    const [, close, name, selfClose] = m;
    if (!first) first = name;
    if (close) {
      if (stack.pop() !== name) return `Malformed XML near </${name}>`;
    } else if (!selfClose) stack.push(name!);
  }
  if (stack.length) return `Malformed XML: <${stack[stack.length - 1]}> is not closed`;
  if (first !== root) return `Expected root element <${root}>, got <${first ?? ''}>`;
  return undefined;
}

/** The FA configuration of an advisor login: master account, sub-accounts and the three documents. */
export class FaConfig {
  readonly docs = new Map<number, string>();

  constructor(
    readonly master: string,
    readonly accounts: readonly string[],
  ) {
    this.docs.set(FA_DATA_TYPE.groups, defaultGroupsXml(accounts));
    this.docs.set(FA_DATA_TYPE.profiles, defaultProfilesXml(accounts));
    this.docs.set(FA_DATA_TYPE.aliases, defaultAliasesXml(accounts));
  }
}
