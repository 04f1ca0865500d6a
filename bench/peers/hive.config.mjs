// Hive Gateway's configuration in the bench: its defaults, plus a plugin that
// signs every subgraph call as our gateway signs them (./sign.mjs, on Hive's
// `onFetch` hook, over the exact body it sends), acting for the customer the
// client's `x-bench-customer-id` header names, else the bench customer
// (SIGN_AS). So the subgraphs behind it run in production mode.
import { CUSTOMER_HEADER, signerFromEnv } from './sign.mjs';

const signer = signerFromEnv();

export const gatewayConfig = {
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
