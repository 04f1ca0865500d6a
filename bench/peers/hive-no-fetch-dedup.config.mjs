// Hive Gateway with its one default sharing turned off (`npm run bench:gateway`): identical
// in-flight subgraph fetches are no longer sent once (`deduplicateInflightRequests` of its HTTP
// transport, on by default, as its docs show how to disable it). Everything else is as in
// ./hive.config.mjs (its defaults, plus the plugin signing subgraph calls). Like our gateway with
// OPERATION_DEDUP and SUBGRAPH_DEDUP off, every request then costs its own.
import { gatewayConfig as signing } from './hive.config.mjs';

export const gatewayConfig = {
  ...signing,
  transportEntries: {
    '*.http': { options: { deduplicateInflightRequests: false } },
  },
};
