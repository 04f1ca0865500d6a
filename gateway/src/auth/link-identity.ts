import { isRole, signSubgraphRequest } from '@storefront/platform/auth';
import type { Logger } from '@storefront/platform/logger';
import type { LinkIdentity } from './identity-providers.ts';

const LINK = `mutation LinkExternalIdentity($input: ExternalIdentityInput!) {
  linkExternalIdentity(input: $input) { userId role }
}`;

/**
 * Asks the users service which user an external sign-in acts as: the
 * gateway's own signed request for an @inaccessible mutation, which no
 * client operation can name. Refusals (an unverified email that would join
 * an existing account, a deactivated account) become the token's refusal.
 */
export function linkThroughUsersService(options: { url: string; secret: string; logger: Logger }): LinkIdentity {
  return async (claims) => {
    const body = JSON.stringify({ query: LINK, variables: { input: claims } });
    let answer: {
      data?: { linkExternalIdentity?: { userId: string; role: string } };
      errors?: { message: string; extensions?: { code?: string } }[];
    };
    try {
      const res = await fetch(options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signSubgraphRequest(options.secret, body, null) },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      answer = (await res.json()) as typeof answer;
    } catch (error) {
      options.logger.warn({ err: error }, 'users service unreachable while linking an external sign-in');
      return { ok: false, reason: 'users service unreachable', message: 'Sign-in is unavailable; try again' };
    }
    const linked = answer.data?.linkExternalIdentity;
    if (linked && isRole(linked.role)) return { ok: true, identity: { userId: linked.userId, role: linked.role } };
    const error = answer.errors?.[0];
    const code = error?.extensions?.code;
    if (code === 'FORBIDDEN' || code === 'BAD_USER_INPUT')
      return { ok: false, reason: `not linked: ${error!.message}`, message: error!.message };
    options.logger.warn({ errors: answer.errors }, 'users service could not link an external sign-in');
    return { ok: false, reason: 'link failed', message: 'Sign-in is unavailable; try again' };
  };
}
