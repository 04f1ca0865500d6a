// Hive Gateway's configuration in the bench: its defaults, plus a plugin that
// signs every subgraph call as our gateway signs them (./sign.mjs, on Hive's
// `onFetch` hook, over the exact body it sends), acting for the customer the
// client's `x-bench-customer-id` header names, else the bench customer
// (SIGN_AS). So the subgraphs behind it run in production mode.
//
// That header is also passed on to the subgraphs (`propagateHeaders`, as
// Hive's docs forward a caller's credentials), as a shop with many customers
// must: Hive's in-flight fetch deduplication keys a fetch by what it sends
// before `onFetch` signs it, so without a per-customer header two customers'
// identical fetches (a history page has no variables) would be merged, and
// one would get the other's orders. The mix checks every answer and caught it.
import { CUSTOMER_HEADER, signerFromEnv } from './sign.mjs';

const signer = signerFromEnv();

export const gatewayConfig = {
  propagateHeaders: {
    fromClientToSubgraphs({ request }) {
      const customer = request.headers.get(CUSTOMER_HEADER);
      return customer ? { [CUSTOMER_HEADER]: customer } : {};
    },
  },
  plugins: () => [
    {
      onFetch({ options, setOptions, context }) {
        const customer = context?.request?.headers?.get(CUSTOMER_HEADER) ?? undefined;
        const body = typeof options.body === 'string' ? options.body : '';
        setOptions({
          ...options,
          headers: { ...options.headers, ...signer.headersFor(body, customer) },
        });
      },
    },
  ],
};
