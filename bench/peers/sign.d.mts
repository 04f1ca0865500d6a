// Types of ./sign.mjs (plain JS: the peers run under plain `node`), for the bench's TypeScript and its test.
export declare const CUSTOMER_HEADER: 'x-bench-customer-id';
export interface PeerSigner {
  headersFor(body: string, customerId: string | undefined): Record<string, string>;
}
export declare function signerFromEnv(env?: Record<string, string | undefined>): PeerSigner;
export declare function signSubgraphRequest(
  secret: string,
  body: string,
  identity: { userId: string; role: string } | null,
  now?: number,
): Record<string, string>;
