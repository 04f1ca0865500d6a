// Hive Gateway's configuration in the mix (`npm run bench -- --mix`): its
// defaults, plus the one setting a shop with many customers needs behind it —
// the header that names the customer is passed on to the subgraphs
// (`propagateHeaders`, as Hive's docs forward a caller's credentials).
export const gatewayConfig = {
  propagateHeaders: {
    fromClientToSubgraphs({ request }) {
      const customer = request.headers.get('x-bench-customer-id');
      return customer ? { 'x-bench-customer-id': customer } : {};
    },
  },
};
