/** IB's texts for the connectivity notices. */
export const NOTICE_TEXT: Record<number, string> = {
  1100: 'Connectivity between IB and Trader Workstation has been lost.',
  1101: 'Connectivity between IB and Trader Workstation has been restored - data lost.',
  1102: 'Connectivity between IB and Trader Workstation has been restored - data maintained.',
  2110: 'Connectivity between Trader Workstation and server is broken. It will be restored automatically.',
};
