/** Who is calling, as established by the gateway from a verified access token. */
export const ROLES = ['CUSTOMER', 'STAFF', 'ADMIN'] as const;
export type Role = (typeof ROLES)[number];

export interface Identity {
  userId: string;
  role: Role;
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export const isStaff = (identity: Identity | null): boolean => identity?.role === 'STAFF' || identity?.role === 'ADMIN';
