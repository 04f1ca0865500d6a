import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK, type CryptoKey } from 'jose';
import { captureLogs, eventually, freePort } from '@storefront/platform/testing';
import type { RunningService } from '@storefront/platform/service';
import { loadGatewayConfig, startGateway, type RunningGateway } from '@storefront/gateway';
import { loadUsersConfig, startUsers } from '@storefront/users';
import { generateSigningJwk } from '@storefront/users';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * Hostile input against tokens and rate limits, through the gateway on the
 * backends the test command provides (PostgreSQL, Kafka, Redis) or embedded.
 * Every refusal must be a clean error with the right code and HTTP status,
 * say nothing about why a token failed beyond "expired / not valid / session
 * ended", and leave the process serving.
 *
 * Rate limits are made small here through RATE_LIMITS_CONFIG. Each
 * rate-limit case sends from a loopback address of its own (127.0.0.x), so
 * the cases never spend each other's buckets.
 */
const LIMITS = `
routes:
  orders: { limit: 5, window: 1m }
  products: { limit: 6, window: 1m }
fields:
  Mutation.logIn:
    - { limit: 3, window: 1m, by: [ip, "arg:email"] }
    - { limit: 8, window: 1m, by: [ip] }
  Mutation.signUp: { limit: 200, window: 1m, by: [ip] }
`;

const ME = `{ me { id } }`;
const PRODUCTS = `{ products(first: 1) { edges { node { id } } } }`;
const LOG_IN = `mutation($e: String!, $p: String!) { logIn(email: $e, password: $p) { accessToken refreshToken } }`;
const SIGN_UP = `mutation($input: SignUpInput!) { signUp(input: $input) { accessToken refreshToken user { id } } }`;
const PASSWORD = 'a-good-password-1';
const CLIENT_MESSAGES = new Set([
  'Access token is not valid',
  'Access token has expired',
  'Session has ended; log in again',
  'Authorization header must be "Bearer <access token>"',
]);

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  raw: string;
  body: { data?: any; errors?: { message: string; extensions?: Record<string, any> }[] };
}

/** POSTs to the gateway from a chosen loopback address. */
function send(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  options: { token?: string; from?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const payload = JSON.stringify({ query, variables });
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        localAddress: options.from ?? '127.0.0.1',
        headers: {
          'content-type': 'application/json',
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, raw, body: JSON.parse(raw) });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const b64 = (value: object | string) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

function assertUnauthenticated(reply: Reply, what: string): void {
  assert.equal(reply.status, 401, `${what}: ${reply.raw}`);
  assert.equal(reply.body.errors?.length, 1, what);
  const [error] = reply.body.errors;
  assert.equal(error!.extensions?.code, 'UNAUTHENTICATED', what);
  assert.ok(CLIENT_MESSAGES.has(error!.message), `${what}: message says too much: ${error!.message}`);
  assert.deepEqual(Object.keys(error!.extensions ?? {}), ['code'], `${what}: no extra detail`);
  assert.equal(reply.body.data, undefined, what);
  assert.match(String(reply.headers['www-authenticate']), /^Bearer/, what);
  assert.doesNotMatch(reply.raw, /stack|jose|ERR_|kid|signature|alg|at \w+ \(/i, `${what}: leaks internals`);
}

function assertRateLimited(reply: Reply, what: string, maxRetryAfter = 60): number {
  assert.equal(reply.status, 429, `${what}: ${reply.raw}`);
  assert.equal(reply.body.errors?.[0]?.extensions?.code, 'RATE_LIMITED', what);
  const retryAfter = Number(reply.headers['retry-after']);
  assert.ok(
    Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= maxRetryAfter,
    `${what}: Retry-After ${String(reply.headers['retry-after'])}`,
  );
  assert.equal(reply.body.errors?.[0]?.extensions?.retryAfter, retryAfter, what);
  assert.doesNotMatch(reply.raw, /rl:|user=|ip=|stack/, `${what}: no bucket internals`);
  return retryAfter;
}

describe('security: tokens and rate limits', { timeout: 240_000 }, () => {
  const logs = captureLogs();
  let stack: Stack;
  let url: string;
  let secondGateway: RunningGateway;
  let signingKey: { jwk: JWK; key: CryptoKey };
  const extraGateways: RunningGateway[] = [];
  let restartedUsers: RunningService | undefined;

  const signUp = async (from = '127.0.0.1') => {
    const email = `${randomUUID().slice(0, 8)}@example.com`;
    const res = await send(url, SIGN_UP, { input: { email, password: PASSWORD, name: 'Sec Test' } }, { from });
    assert.ok(res.body.data?.signUp, res.raw);
    return {
      email,
      userId: res.body.data.signUp.user.id as string,
      token: res.body.data.signUp.accessToken as string,
      refresh: res.body.data.signUp.refreshToken as string,
    };
  };
  const logIn = async (email: string, from = '127.0.0.1') => {
    const res = await send(url, LOG_IN, { e: email, p: PASSWORD }, { from });
    assert.ok(res.body.data?.logIn, res.raw);
    return { token: res.body.data.logIn.accessToken as string, refresh: res.body.data.logIn.refreshToken as string };
  };
  const gatewayEnv = (extra: Record<string, string> = {}) => ({ ...stack.env, GATEWAY_PORT: '0', ...extra });
  const startExtraGateway = async (env: Record<string, string>, logger = logs.logger) => {
    const gateway = await startGateway(
      {
        ...loadGatewayConfig(env),
        subgraphUrls: Object.fromEntries(Object.values(stack.services).map((s) => [s.name, s.url])),
      },
      { logger, bus: stack.services.users.bus.kind === 'memory' ? stack.services.users.bus : undefined },
    );
    extraGateways.push(gateway);
    return gateway;
  };

  /** A token signed with the users service's own key, with any claims and header: only what we break makes it fail. */
  const craft = (
    claims: Record<string, unknown>,
    header: Record<string, unknown> = {},
    key: CryptoKey = signingKey.key,
  ) =>
    new SignJWT({ role: 'CUSTOMER', sid: randomUUID(), ...claims })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid: signingKey.jwk.kid!, ...header })
      .sign(key);
  const validClaims = (userId: string) => ({
    sub: userId,
    iss: 'storefront',
    aud: 'storefront-api',
    iat: now(),
    exp: now() + 300,
  });

  before(async () => {
    const limitsFile = join(process.env.TMPDIR ?? '/tmp', `rate-limits-${randomUUID()}.yaml`);
    writeFileSync(limitsFile, LIMITS);
    stack = await startStack({
      logger: logs.logger,
      gatewayEnv: { RATE_LIMITS_CONFIG: limitsFile, JWKS_CACHE_SECONDS: '1' },
    });
    url = stack.gateway.url;
    // A second instance over the same store and bus: what one sees, the other must too.
    secondGateway = await startExtraGateway(gatewayEnv({ RATE_LIMITS_CONFIG: limitsFile, JWKS_CACHE_SECONDS: '1' }));
    // Without JWT_SIGNING_KEYS the users service keeps its key in DATA_DIR: forge with the real key.
    const [jwk] = JSON.parse(readFileSync(join(stack.env.DATA_DIR!, 'users', 'jwt-keys.json'), 'utf8')) as JWK[];
    signingKey = { jwk: jwk!, key: (await importJWK(jwk!, 'EdDSA')) as CryptoKey };
  });
  after(async () => {
    await restartedUsers?.stop();
    for (const gateway of extraGateways) await gateway.stop();
    await stack?.stop();
  });

  describe('hostile access tokens: all UNAUTHENTICATED, HTTP 401, nothing leaked', () => {
    let userId: string;
    before(async () => {
      userId = (await signUp()).userId;
    });

    it('accepts a well-formed token made with the real key (the cases below each break one thing)', async () => {
      const res = await send(url, ME, {}, { token: await craft(validClaims(userId)) });
      assert.equal(res.body.data?.me?.id, userId, res.raw);
    });

    it('refuses alg "none", with and without a signature', async () => {
      const unsigned = `${b64({ alg: 'none', typ: 'JWT', kid: signingKey.jwk.kid })}.${b64({ role: 'ADMIN', sid: randomUUID(), ...validClaims(userId) })}`;
      assertUnauthenticated(await send(url, ME, {}, { token: `${unsigned}.` }), 'alg none, empty signature');
      assertUnauthenticated(await send(url, ME, {}, { token: `${unsigned}.${b64('x')}` }), 'alg none, junk signature');
      const lower = `${b64({ alg: 'None', typ: 'JWT' })}.${b64(validClaims(userId))}.${b64('x')}`;
      assertUnauthenticated(await send(url, ME, {}, { token: lower }), 'alg None');
    });

    it('refuses HS256 signed with the public key (algorithm confusion)', async () => {
      const jwks = (await (await fetch(new URL('/.well-known/jwks.json', stack.services.users.url))).json()) as {
        keys: JWK[];
      };
      const publicJwk = jwks.keys[0]!;
      const secrets = [
        JSON.stringify(publicJwk),
        publicJwk.x!,
        Buffer.from(publicJwk.x!, 'base64url').toString('latin1'),
      ];
      for (const secret of secrets) {
        const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: publicJwk.kid })}.${b64({ role: 'ADMIN', sid: randomUUID(), ...validClaims(userId) })}`;
        const token = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
        assertUnauthenticated(await send(url, ME, {}, { token }), 'HS256 with the public key');
      }
    });

    it('refuses expired, not-yet-valid, wrong-audience, wrong-issuer and over-long tokens', async () => {
      const cases: [string, Record<string, unknown>][] = [
        ['expired', { ...validClaims(userId), iat: now() - 600, exp: now() - 60 }],
        ['not yet valid (nbf)', { ...validClaims(userId), nbf: now() + 120 }],
        ['issued in the future', { ...validClaims(userId), iat: now() + 120, exp: now() + 400 }],
        ['wrong audience', { ...validClaims(userId), aud: 'another-api' }],
        ['wrong issuer', { ...validClaims(userId), iss: 'https://evil.example' }],
        ['no expiry', { sub: userId, iss: 'storefront', aud: 'storefront-api', iat: now() }],
        ['lives a year', { ...validClaims(userId), exp: now() + 365 * 86_400 }],
        ['no session id', { ...validClaims(userId), sid: undefined }],
        ['made-up role', { ...validClaims(userId), role: 'SUPERUSER' }],
      ];
      for (const [what, claims] of cases)
        assertUnauthenticated(await send(url, ME, {}, { token: await craft(claims) }), what);
      const expired = await send(url, ME, {}, { token: await craft(cases[0]![1]) });
      assert.equal(expired.body.errors?.[0]?.message, 'Access token has expired', 'a client may learn to refresh');
    });

    it('refuses forged signatures, unknown and missing key ids, and keys embedded in the header', async () => {
      const good = await craft(validClaims(userId));
      const [header, payload, signature] = good.split('.') as [string, string, string];
      const flipped = signature.slice(0, 10) + (signature[10] === 'A' ? 'B' : 'A') + signature.slice(11);
      assertUnauthenticated(
        await send(url, ME, {}, { token: `${header}.${payload}.${flipped}` }),
        'flipped signature byte',
      );
      const escalated = b64({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), role: 'ADMIN' });
      assertUnauthenticated(
        await send(url, ME, {}, { token: `${header}.${escalated}.${signature}` }),
        'payload swapped under a real signature',
      );

      const attacker = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
      const attackerJwk = await exportJWK(attacker.publicKey);
      assertUnauthenticated(
        await send(
          url,
          ME,
          {},
          { token: await craft(validClaims(userId), { kid: 'no-such-key' }, attacker.privateKey) },
        ),
        'unknown kid',
      );
      assertUnauthenticated(
        await send(url, ME, {}, { token: await craft(validClaims(userId), {}, attacker.privateKey) }),
        'real kid, other key',
      );
      assertUnauthenticated(
        await send(url, ME, {}, { token: await craft(validClaims(userId), { kid: undefined }) }),
        'no kid',
      );
      assertUnauthenticated(
        await send(
          url,
          ME,
          {},
          { token: await craft(validClaims(userId), { kid: 'attacker', jwk: attackerJwk }, attacker.privateKey) },
        ),
        'key embedded in the header (jwk)',
      );
      assertUnauthenticated(
        await send(
          url,
          ME,
          {},
          {
            token: await craft(
              validClaims(userId),
              { jku: 'https://evil.example/jwks.json', kid: 'attacker' },
              attacker.privateKey,
            ),
          },
        ),
        'key URL in the header (jku)',
      );
      for (const junk of ['not.a.token', 'Basic YWRtaW46YWRtaW4=', `${'a'.repeat(5000)}.b.c`]) {
        const res = await send(
          url,
          ME,
          {},
          { headers: { authorization: junk.startsWith('Basic') ? junk : `Bearer ${junk}` } },
        );
        assertUnauthenticated(res, `junk: ${junk.slice(0, 20)}`);
      }
    });

    it('keeps serving, and audits the refusals without the tokens', async () => {
      const res = await send(url, `{ __typename }`);
      assert.equal(res.status, 200);
      const rejected = logs.find('token_rejected');
      assert.ok(rejected.length > 0);
      assert.ok(rejected.every((r) => r.audit === true && typeof r.reason === 'string' && !('token' in r)));
      const reasons = new Set(rejected.map((r) => r.reason));
      for (const reason of [
        'algorithm',
        'expired',
        'claim nbf',
        'claim aud',
        'claim iss',
        'claim exp missing',
        'claim sid missing',
        'lifetime',
        'signature',
        'unknown key',
      ]) {
        assert.ok(
          [...reasons].some((r) => r.startsWith(reason)),
          `audited reason "${reason}" in ${[...reasons].join(', ')}`,
        );
      }
    });
  });

  describe('sessions end everywhere within seconds', () => {
    it('log out stops that session’s access tokens on every gateway instance, not the user’s other sessions', async () => {
      const user = await signUp();
      const other = await logIn(user.email);
      assert.equal((await send(url, ME, {}, { token: user.token })).body.data?.me?.id, user.userId);
      const out = await send(url, `mutation($t: String!) { logOut(refreshToken: $t) }`, { t: user.refresh });
      assert.equal(out.body.data?.logOut, true, out.raw);
      const started = Date.now();
      for (const gateway of [stack.gateway, secondGateway]) {
        await eventually(
          async () => (await send(gateway.url, ME, {}, { token: user.token })).status === 401,
          5_000,
          'the logged-out token to stop',
        );
      }
      assert.ok(Date.now() - started < 5_000);
      assertUnauthenticated(await send(url, ME, {}, { token: user.token }), 'after log out');
      assert.equal(
        (await send(url, ME, {}, { token: other.token })).body.data?.me?.id,
        user.userId,
        'the other session lives on',
      );
      assert.ok(logs.find('logout').some((r) => r.userId === user.userId && r.audit));
    });

    it('a replayed refresh token revokes the whole family, refresh and access tokens alike', async () => {
      const user = await signUp();
      const REFRESH = `mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken } }`;
      const rotated = await send(url, REFRESH, { t: user.refresh });
      const second = rotated.body.data?.refreshSession;
      assert.ok(second, rotated.raw);
      assert.notEqual(second.refreshToken, user.refresh);

      const replay = await send(url, REFRESH, { t: user.refresh });
      assert.equal(replay.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
      const afterReplay = await send(url, REFRESH, { t: second.refreshToken });
      assert.equal(
        afterReplay.body.errors?.[0]?.extensions?.code,
        'UNAUTHENTICATED',
        'the legitimate holder is out too',
      );
      for (const token of [user.token, second.accessToken]) {
        await eventually(
          async () => (await send(url, ME, {}, { token })).status === 401,
          5_000,
          'the family’s access tokens to stop',
        );
      }
      assert.ok(logs.find('refresh_token_reuse').some((r) => r.userId === user.userId));
    });

    it('garbage refresh tokens get a clean UNAUTHENTICATED, and log out of nothing is false', async () => {
      const REFRESH = `mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }`;
      for (const t of ['', 'x', 'a'.repeat(20_000), "' OR 1=1 --", '\uffff']) {
        const res = await send(url, REFRESH, { t }, { from: '127.0.0.51' });
        assert.equal(res.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED', res.raw.slice(0, 300));
        assert.doesNotMatch(res.raw, /prisma|sql|stack/i);
        const out = await send(
          url,
          `mutation($t: String!) { logOut(refreshToken: $t) }`,
          { t },
          { from: '127.0.0.51' },
        );
        assert.equal(out.body.data?.logOut, false, out.raw.slice(0, 300));
      }
      // A NUL is refused before any resolver runs, as in every string argument.
      const nul = await send(url, REFRESH, { t: '\u0000\uffff' }, { from: '127.0.0.51' });
      assert.equal(nul.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', nul.raw.slice(0, 300));
      assert.equal(nul.body.errors?.[0]?.extensions?.argumentName, 'refreshToken');
    });

    it('deactivation stops every access token of the user', async () => {
      const user = await signUp();
      const other = await logIn(user.email);
      const res = await send(
        url,
        `mutation($id: ID!) { deactivateUser(id: $id) { id } }`,
        { id: user.userId },
        { token: user.token },
      );
      assert.equal(res.body.data?.deactivateUser?.id, user.userId, res.raw);
      for (const token of [user.token, other.token]) {
        for (const gateway of [stack.gateway, secondGateway]) {
          await eventually(
            async () => (await send(gateway.url, ME, {}, { token })).status === 401,
            5_000,
            'the deactivated user’s tokens to stop',
          );
        }
      }
      const again = await send(url, LOG_IN, { e: user.email, p: PASSWORD });
      assert.equal(again.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
      assert.ok(logs.find('user_deactivated').some((r) => r.userId === user.userId && r.actorId === user.userId));
    });
  });

  describe('rate limits', () => {
    const ORDER = `query($id: ID!) { order(id: $id) { id } }`;

    it('per user: the orders route allows 5 a minute; then 429 with Retry-After, and nobody else is affected', async () => {
      const from = '127.0.0.11';
      const [ann, bob] = [await signUp(from), await signUp(from)];
      for (let i = 0; i < 5; i++) {
        const res = await send(url, ORDER, { id: randomUUID() }, { token: ann.token, from });
        assert.equal(res.body.errors?.[0]?.extensions?.code, 'NOT_FOUND', res.raw);
      }
      const refused = await send(url, ORDER, { id: randomUUID() }, { token: ann.token, from });
      const retryAfter = assertRateLimited(refused, 'sixth orders call', 12);
      assert.equal(refused.body.data, undefined, 'no subgraph was called');

      // Same address, another user; same user, another route; same address, no user.
      assert.equal(
        (await send(url, ORDER, { id: randomUUID() }, { token: bob.token, from })).body.errors?.[0]?.extensions?.code,
        'NOT_FOUND',
      );
      assert.equal((await send(url, ME, {}, { token: ann.token, from })).body.data?.me?.id, ann.userId);
      assert.equal(
        (await send(url, ORDER, { id: randomUUID() }, { from })).body.errors?.[0]?.extensions?.code,
        'UNAUTHENTICATED',
      );

      // One bucket for the user across gateway instances when Redis holds them.
      const elsewhere = await send(secondGateway.url, ORDER, { id: randomUUID() }, { token: ann.token, from });
      if (process.env.REDIS_URL) assertRateLimited(elsewhere, 'the same user at another instance');
      assert.ok(retryAfter <= 12);
      assert.ok(logs.find('rate_limited').some((r) => r.rule === 'routes.orders' && r.userId === ann.userId));
    });

    it('per address: anonymous callers share their address’s bucket; other addresses and signed-in users do not', async () => {
      const from = '127.0.0.21';
      const user = await signUp('127.0.0.22');
      for (let i = 0; i < 6; i++) assert.equal((await send(url, PRODUCTS, {}, { from })).status, 200);
      assertRateLimited(await send(url, PRODUCTS, {}, { from }), 'seventh anonymous products call');
      // A client cannot pick a fresh address by claiming one: no proxy is trusted.
      assertRateLimited(
        await send(url, PRODUCTS, {}, { from, headers: { 'x-forwarded-for': '203.0.113.9' } }),
        'spoofed X-Forwarded-For',
      );
      assert.equal((await send(url, PRODUCTS, {}, { from: '127.0.0.23' })).status, 200, 'another address');
      assert.equal(
        (await send(url, PRODUCTS, {}, { from, token: user.token })).status,
        200,
        'a signed-in user at that address',
      );
      // Introspection-only operations touch no subgraph and are not free either.
      assert.equal((await send(url, `{ __typename }`, {}, { from })).status, 200);
    });

    it('password guessing on logIn: 3 tries per address and account, aliases count, the owner elsewhere is not locked out', async () => {
      const victim = await signUp();
      const from = '127.0.0.31';
      for (let i = 0; i < 3; i++) {
        const wrong = await send(url, LOG_IN, { e: victim.email, p: `guess-number-${i}` }, { from });
        assert.equal(wrong.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED', wrong.raw);
      }
      // Throttled even with the right password: a guesser learns nothing from the fourth try.
      assertRateLimited(await send(url, LOG_IN, { e: victim.email, p: PASSWORD }, { from }), 'fourth try');
      assertRateLimited(
        await send(url, LOG_IN, { e: `  ${victim.email.toUpperCase()} `, p: PASSWORD }, { from }),
        'same account, other spelling',
      );
      assert.ok(
        (await send(url, LOG_IN, { e: victim.email, p: PASSWORD }, { from: '127.0.0.33' })).body.data?.logIn,
        'the owner, elsewhere',
      );

      const burst = `mutation($e: String!) {
        a: logIn(email: $e, password: "guess-a-1234") { accessToken }
        b: logIn(email: $e, password: "guess-b-1234") { accessToken }
        c: logIn(email: $e, password: "guess-c-1234") { accessToken }
        d: logIn(email: $e, password: "guess-d-1234") { accessToken }
      }`;
      const aliased = await send(url, burst, { e: victim.email }, { from: '127.0.0.32' });
      assertRateLimited(aliased, 'four guesses in one request');
      assert.equal(aliased.body.data, undefined, 'no guess was checked');

      // Many accounts from one address: the per-address rule (8 a minute).
      const stuffing = '127.0.0.34';
      const codes = [];
      for (let i = 0; i < 9; i++)
        codes.push(
          (await send(url, LOG_IN, { e: `nobody${i}@example.com`, p: 'guess-1234567' }, { from: stuffing })).status,
        );
      assert.deepEqual(codes, [200, 200, 200, 200, 200, 200, 200, 200, 429]);

      const failed = logs.find('login_failed');
      assert.ok(failed.length >= 3);
      for (const record of failed) {
        assert.ok(!String(record.email).includes(victim.email.split('@')[0]!.slice(1)), 'emails are masked');
        assert.ok(!JSON.stringify(record).includes('guess-'), 'no passwords');
      }
      assert.ok(logs.find('rate_limited').some((r) => r.rule === 'fields["Mutation.logIn"][0]' && r.ip === from));
    });

    it('no secret reaches any log record', () => {
      const all = JSON.stringify(logs.records);
      assert.doesNotMatch(all, new RegExp(PASSWORD));
      assert.doesNotMatch(all, /guess-(number|a|b|c|d)-/);
      assert.doesNotMatch(all, /eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/, 'no JWTs');
    });
  });

  describe('audit trail', () => {
    it('records refused field access with who asked, once per request', async () => {
      const [prying, target] = [await signUp(), await signUp()];
      const res = await send(
        url,
        `query($id: ID!) { user(id: $id) { id email } }`,
        { id: target.userId },
        { token: prying.token },
      );
      assert.equal(res.body.errors?.[0]?.extensions?.code, 'FORBIDDEN', res.raw);
      const denied = await eventually(
        () => logs.find('access_denied').find((r) => r.userId === prying.userId),
        5_000,
        'the access_denied record',
      );
      assert.equal(denied.audit, true);
      assert.equal(denied.service, 'users');
      assert.equal(denied.role, 'CUSTOMER');
      assert.deepEqual(denied.fields, ['user']);
    });

    it('records sign-ups and log-ins with masked emails', async () => {
      const user = await signUp();
      await logIn(user.email);
      const signup = logs.find('signup').find((r) => r.userId === user.userId);
      const login = logs.find('login').find((r) => r.userId === user.userId);
      assert.ok(signup && login);
      assert.equal(signup.email, `${user.email[0]}***@example.com`);
      assert.ok(typeof login.sid === 'string', 'which session, so a later revocation can be tied to it');
    });
  });

  describe('Redis unreachable', () => {
    it('the gateway keeps serving with in-process buckets and says so once', async () => {
      const own = captureLogs();
      const gateway = await startExtraGateway(
        gatewayEnv({
          REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
          RATE_LIMITS_CONFIG: '/nonexistent/rate-limits.yaml',
        }),
        own.logger,
      ).catch((error: Error) => error);
      // A missing rate-limit file stops the start, naming the setting.
      assert.ok(gateway instanceof Error && /RATE_LIMITS_CONFIG/.test(gateway.message), String(gateway));

      const limitsFile = join(process.env.TMPDIR ?? '/tmp', `rate-limits-${randomUUID()}.yaml`);
      writeFileSync(limitsFile, LIMITS);
      const degraded = await startExtraGateway(
        gatewayEnv({ REDIS_URL: `redis://127.0.0.1:${await freePort()}`, RATE_LIMITS_CONFIG: limitsFile }),
        own.logger,
      );
      const user = await signUp();
      const from = '127.0.0.41';
      const statuses = [];
      for (let i = 0; i < 7; i++) statuses.push((await send(degraded.url, PRODUCTS, {}, { from })).status);
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 429], 'limits still hold, per instance');
      assert.equal(
        (await send(degraded.url, ME, {}, { token: user.token })).body.data?.me?.id,
        user.userId,
        'tokens still verify',
      );
      await eventually(() => own.find(/redis is unreachable/).length > 0, 5_000, 'the fallback to be logged');
      assert.equal(own.find(/redis is unreachable/).length, 1, 'said once');
    });
  });

  describe('signing-key rotation', () => {
    it('a new key signs at once, the old one keeps verifying until it is removed', async () => {
      const before = await signUp();
      const oldKid = signingKey.jwk.kid!;
      const users = stack.services.users;
      const port = users.port;
      const restart = async (keys: JWK[]) => {
        await (restartedUsers ?? users).stop();
        restartedUsers = await startUsers(
          loadUsersConfig({ ...stack.env, USERS_PORT: String(port), JWT_SIGNING_KEYS: JSON.stringify(keys) }),
          { logger: logs.logger, ...(users.bus.kind === 'memory' ? { bus: users.bus } : {}) },
        );
      };

      const newKey = await generateSigningJwk();
      await restart([newKey, signingKey.jwk]);
      const fresh = await logIn(before.email);
      assert.equal(JSON.parse(Buffer.from(fresh.token.split('.')[0]!, 'base64url').toString()).kid, newKey.kid);
      assert.equal(
        (await send(url, ME, {}, { token: fresh.token })).body.data?.me?.id,
        before.userId,
        'new key verifies at once',
      );
      assert.equal(
        (await send(url, ME, {}, { token: before.token })).body.data?.me?.id,
        before.userId,
        'old key still verifies',
      );

      await restart([newKey]);
      await eventually(
        async () => (await send(url, ME, {}, { token: before.token })).status === 401,
        5_000,
        'the removed key’s tokens to stop',
      );
      assertUnauthenticated(await send(url, ME, {}, { token: before.token }), `token of removed key ${oldKid}`);
      assert.equal(
        (await send(url, ME, {}, { token: fresh.token })).body.data?.me?.id,
        before.userId,
        'the current key still verifies',
      );
    });
  });
});
