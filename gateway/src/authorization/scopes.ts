import type { Identity, Role } from '@storefront/platform/auth';
import type { Caller } from './analysis.ts';

/**
 * The scopes each role holds, for `@requiresScopes`. Staff hold `staff`;
 * admins hold `staff` and `admin`. A schema asks for a scope, never a role,
 * so a new role is one line here and no schema changes.
 */
export const ROLE_SCOPES: Readonly<Record<Role, readonly string[]>> = {
  CUSTOMER: [],
  STAFF: ['staff'],
  ADMIN: ['staff', 'admin'],
};

const ANONYMOUS: Caller & { key: string } = { signedIn: false, scopes: new Set(), key: 'anonymous' };
const BY_ROLE = new Map(
  Object.entries(ROLE_SCOPES).map(([role, scopes]) => [role, { signedIn: true, scopes: new Set(scopes), key: role }]),
);

/** The caller as the directives see it; `key` names the kind of caller, which is all an analysis depends on. */
export function callerOf(identity: Identity | null): Caller & { key: string } {
  return (identity && BY_ROLE.get(identity.role)) ?? ANONYMOUS;
}
