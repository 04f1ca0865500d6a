/**
 * Who is calling, as the gateway and the services agree on it: the caller's
 * identity and role, and the signature the gateway puts on every subgraph
 * request and subscription so a service trusts no one else.
 */
export { ROLES, isRole, isStaff, type Identity, type Role } from './identity.ts';
export {
  ReplayGuard,
  SIGNATURE_HEADERS,
  signConnection,
  signSubgraphRequest,
  signSubscription,
  stableStringify,
  verifyConnection,
  verifySubgraphRequest,
  verifySubscription,
  type SignatureCheck,
  type SignedSubscription,
} from './gateway-signature.ts';
