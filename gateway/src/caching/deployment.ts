import { createHash } from 'node:crypto';
import type { Supergraph } from '../supergraph/index.ts';

/**
 * A short hash of the served supergraph and the subgraph URLs it routes to,
 * part of every cache key (response cache, entity cache): instances share
 * entries only when they serve the same schema from the same subgraphs, so
 * during a rolling deploy that changes the schema, or for a canary routed to
 * other subgraph instances, neither reads the other's; a supergraph reloaded
 * in place starts afresh the same way. Recomputed only when the supergraph
 * changes.
 */
export function deploymentFingerprint(supergraph: () => Supergraph): () => string {
  let of: Supergraph | undefined;
  let fingerprint = '';
  return () => {
    const current = supergraph();
    if (current !== of) {
      of = current;
      fingerprint = createHash('sha256')
        .update(current.sdl)
        .update(JSON.stringify(current.subgraphs))
        .digest('hex')
        .slice(0, 16);
    }
    return fingerprint;
  };
}
