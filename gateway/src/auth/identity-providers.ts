import { readFileSync } from 'node:fs';
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import { LRUCache } from 'lru-cache';
import { parse } from 'yaml';
import { z } from 'zod';
import { ROLES, type Identity } from '@storefront/platform/auth';
import type { Logger } from '@storefront/platform/logger';

/**
 * Sign-in through any OpenID Connect provider (Auth0, Cognito, Keycloak,
 * Google, Apple…): the gateway accepts the access tokens of the issuers
 * listed in IDENTITY_PROVIDERS, next to the users service's own.
 *
 * Each provider's keys come from its discovery document (`jwks_uri`), the
 * algorithm is one of an allow-list of public-key algorithms (never `none`,
 * never HMAC: a provider's public key must not double as a shared secret),
 * and issuer, audience and expiry are required. The users service turns
 * (issuer, subject) into one of our users (linking on first sight); that
 * answer is remembered for a while, so a token costs one signature check.
 */
export const identityProvidersEnv = {
  IDENTITY_PROVIDERS: z
    .string()
    .optional()
    .describe(
      'A YAML file of external OpenID Connect issuers whose access tokens the gateway accepts. Unset: only our own tokens.',
    ),
};

const PUBLIC_KEY_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;

const providerSchema = z
  .object({
    /** The `iss` of its tokens, exactly (and where its discovery document lives). */
    issuer: z.url(),
    /** The `aud` its access tokens must carry for this API. */
    audience: z.string().min(1),
    algorithms: z.array(z.enum(PUBLIC_KEY_ALGORITHMS)).min(1).default(['RS256', 'ES256', 'EdDSA']),
    /** Default: `<issuer>/.well-known/openid-configuration`. */
    discoveryUrl: z.url().optional(),
    /** Our role from one of its claims (the highest that matches); absent or unmatched: the user's own role. */
    roles: z
      .object({ claim: z.string().min(1), map: z.record(z.string(), z.enum(ROLES)) })
      .strict()
      .optional(),
  })
  .strict();
const fileSchema = z.object({ providers: z.array(providerSchema).default([]) }).strict();

export type IdentityProvider = z.infer<typeof providerSchema>;

export function readIdentityProviders(path: string | undefined): IdentityProvider[] {
  if (!path) return [];
  let document: unknown;
  try {
    document = parse(readFileSync(path, 'utf8')) ?? {};
  } catch (error) {
    throw new Error(`IDENTITY_PROVIDERS: cannot read ${path}: ${(error as Error).message}`);
  }
  const parsed = fileSchema.safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`IDENTITY_PROVIDERS: ${path}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data.providers;
}

/** What the users service answers for an external sign-in. */
export type LinkIdentity = (claims: {
  issuer: string;
  subject: string;
  email?: string;
  emailVerified: boolean;
  name?: string;
}) => Promise<{ ok: true; identity: Identity } | { ok: false; reason: string; message: string }>;

export type ExternalCheck =
  | { ok: true; identity: Identity; issuedAt: number; linkedRole: string }
  | { ok: false; reason: string; message: string };

export interface ExternalTokens {
  /** Whether `issuer` is one of the configured providers. */
  handles(issuer: string): boolean;
  verify(token: string, issuer: string): Promise<ExternalCheck>;
}

/** How long a (issuer, subject) → user answer is remembered; a deactivation still stops it at once (revocation). */
const LINK_TTL_MS = 5 * 60_000;
const RANK: Record<string, number> = { CUSTOMER: 0, STAFF: 1, ADMIN: 2 };
const NOT_VALID = 'Access token is not valid';

export function createExternalTokens(
  providers: IdentityProvider[],
  options: { link: LinkIdentity; clockToleranceSeconds: number; logger: Logger },
): ExternalTokens {
  const byIssuer = new Map(providers.map((provider) => [provider.issuer, provider]));
  const keySets = new Map<string, Promise<ReturnType<typeof createRemoteJWKSet>>>();
  const links = new LRUCache<string, Identity>({ max: 10_000, ttl: LINK_TTL_MS });

  /** The provider's key set, from its discovery document; a failed discovery is tried again next time. */
  const keySetOf = (provider: IdentityProvider) => {
    let keySet = keySets.get(provider.issuer);
    if (!keySet) {
      const url = provider.discoveryUrl ?? `${provider.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
      keySet = fetch(url, { signal: AbortSignal.timeout(5_000) })
        .then(async (res) => {
          if (!res.ok) throw new Error(`discovery answered ${res.status}`);
          const { jwks_uri: jwksUri } = (await res.json()) as { jwks_uri?: unknown };
          if (typeof jwksUri !== 'string') throw new Error('discovery document has no jwks_uri');
          return createRemoteJWKSet(new URL(jwksUri));
        })
        .catch((error: unknown) => {
          keySets.delete(provider.issuer);
          throw error;
        });
      keySets.set(provider.issuer, keySet);
    }
    return keySet;
  };

  return {
    handles: (issuer) => byIssuer.has(issuer),
    async verify(token, issuer) {
      const provider = byIssuer.get(issuer)!;
      let payload: JWTPayload;
      try {
        const keys = await keySetOf(provider);
        ({ payload } = await jwtVerify(token, keys, {
          algorithms: provider.algorithms,
          issuer: provider.issuer,
          audience: provider.audience,
          requiredClaims: ['sub', 'exp'],
          clockTolerance: options.clockToleranceSeconds,
        }));
      } catch (error) {
        if (error instanceof errors.JWTExpired) return refused('expired', 'Access token has expired');
        if (error instanceof errors.JOSEError) return refused(`external: ${error.code}`);
        // The provider could not be reached: not the token's fault, but nothing to verify it with.
        options.logger.warn({ err: error, issuer }, 'identity provider unreachable');
        return refused('provider unreachable', 'The sign-in provider cannot be reached; try again');
      }
      const subject = payload.sub!;
      let linked = links.get(`${issuer}\n${subject}`);
      if (!linked) {
        const answer = await options.link({
          issuer,
          subject,
          ...(typeof payload.email === 'string' ? { email: payload.email } : {}),
          emailVerified: payload.email_verified === true,
          ...(typeof payload.name === 'string' ? { name: payload.name } : {}),
        });
        if (!answer.ok) return refused(answer.reason, answer.message);
        linked = answer.identity;
        links.set(`${issuer}\n${subject}`, linked);
      }
      return {
        ok: true,
        identity: { userId: linked.userId, role: mappedRole(provider, payload) ?? linked.role },
        issuedAt: payload.iat ?? 0,
        linkedRole: linked.role,
      };
    },
  };
}

function mappedRole(provider: IdentityProvider, payload: JWTPayload): Identity['role'] | undefined {
  if (!provider.roles) return undefined;
  const claim = payload[provider.roles.claim];
  const values = Array.isArray(claim) ? claim : typeof claim === 'string' ? claim.split(' ') : [];
  let best: Identity['role'] | undefined;
  for (const value of values) {
    const role = typeof value === 'string' ? provider.roles.map[value] : undefined;
    if (role && (best === undefined || RANK[role]! > RANK[best]!)) best = role;
  }
  return best;
}

const refused = (reason: string, message = NOT_VALID): ExternalCheck => ({ ok: false, reason, message });
