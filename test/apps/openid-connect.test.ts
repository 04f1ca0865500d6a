import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import Provider from 'oidc-provider';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * Sign-in through an external OpenID Connect provider: a real certified
 * provider (the `oidc-provider` package) runs in the test; an app signs in
 * there with the authorization-code flow and PKCE and calls the gateway with
 * the provider's access token, next to our own tokens. The users service links
 * the provider's subject to a user on first sight; forged, misdirected and
 * unverified tokens are refused with UNAUTHENTICATED.
 */
const AUDIENCE = 'https://api.storefront.test/';
const CALLBACK = 'http://127.0.0.1:9/callback';

interface ExternalAccount {
  email: string;
  emailVerified: boolean;
  name: string;
  groups: string[];
}

describe('sign-in through an OpenID Connect provider', { timeout: 300_000 }, () => {
  let stack: Stack;
  let issuer: string;
  let server: Server;
  let providerKey: JWK;
  const accounts = new Map<string, ExternalAccount>();
  const suffix = randomBytes(4).toString('hex');

  before(async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    providerKey = { ...(await exportJWK(privateKey)), kid: 'provider-key', alg: 'ES256', use: 'sig' };
    // Assigned once, after the server it answers through is listening.
    // eslint-disable-next-line prefer-const
    let provider: Provider | undefined;
    server = createServer((req, res) => provider!.callback()(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    provider = new Provider(issuer, {
      clients: [
        {
          client_id: 'storefront-app',
          token_endpoint_auth_method: 'none',
          redirect_uris: [CALLBACK],
          grant_types: ['authorization_code'],
          response_types: ['code'],
          id_token_signed_response_alg: 'ES256',
        },
      ],
      jwks: { keys: [providerKey] },
      cookies: { keys: [randomBytes(16).toString('hex')] },
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
      features: {
        devInteractions: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => AUDIENCE,
          useGrantedResource: () => true,
          getResourceServerInfo: () => ({
            scope: 'orders',
            audience: AUDIENCE,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          }),
        },
      },
      // What the API needs to know of the account travels in the access token.
      extraTokenClaims: (_ctx: unknown, token: { accountId: string }) => {
        const account = accounts.get(token.accountId);
        return account
          ? { email: account.email, email_verified: account.emailVerified, name: account.name, groups: account.groups }
          : {};
      },
      findAccount: (_ctx: unknown, id: string) => ({ accountId: id, claims: () => ({ sub: id }) }),
    });

    const dir = mkdtempSync(join(tmpdir(), 'storefront-oidc-'));
    const providers = join(dir, 'identity-providers.yaml');
    writeFileSync(
      providers,
      [
        'providers:',
        `  - issuer: ${issuer}`,
        `    audience: ${AUDIENCE}`,
        '    algorithms: [ES256, RS256]',
        '    roles: { claim: groups, map: { shop-staff: STAFF } }',
      ].join('\n'),
    );
    stack = await startStack({ gatewayEnv: { IDENTITY_PROVIDERS: providers } });
  });
  after(async () => {
    await stack?.stop();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  /** The authorization-code flow with PKCE, as an app runs it: log in, consent, trade the code for tokens. */
  async function signInAtProvider(accountId: string): Promise<string> {
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const cookies = new Map<string, string>();
    const send = async (url: string, init: RequestInit = {}) => {
      const res = await fetch(url, {
        ...init,
        redirect: 'manual',
        headers: { ...(init.headers as object), cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
      });
      for (const line of res.headers.getSetCookie()) {
        const [pair] = line.split(';');
        const at = pair!.indexOf('=');
        cookies.set(pair!.slice(0, at), pair!.slice(at + 1));
      }
      return res;
    };
    const query = new URLSearchParams({
      client_id: 'storefront-app',
      response_type: 'code',
      scope: 'openid email profile orders',
      redirect_uri: CALLBACK,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: randomBytes(8).toString('hex'),
      resource: AUDIENCE,
    });
    let url = `${issuer}/auth?${query.toString()}`;
    for (let step = 0; step < 12; step++) {
      const res = await send(url);
      if (res.status >= 300 && res.status < 400) {
        const location = new URL(res.headers.get('location')!, issuer).toString();
        if (location.startsWith(CALLBACK)) {
          const code = new URL(location).searchParams.get('code');
          assert.ok(code, location);
          const token = await send(`${issuer}/token`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({
              grant_type: 'authorization_code',
              code,
              redirect_uri: CALLBACK,
              client_id: 'storefront-app',
              code_verifier: verifier,
              resource: AUDIENCE,
            }),
          });
          const tokens = (await token.json()) as { access_token?: string };
          assert.ok(tokens.access_token, JSON.stringify(tokens));
          return tokens.access_token;
        }
        url = location;
        continue;
      }
      // An interaction page: the dev login form, or consent.
      const page = await res.text();
      assert.equal(
        res.status,
        200,
        page
          .replace(/<style>[\s\S]*<\/style>/, '')
          .replace(/<[^>]+>/g, ' ')
          .replace(/\s+/g, ' ')
          .slice(0, 400),
      );
      const form: Record<string, string> = page.includes('name="login"')
        ? { prompt: 'login', login: accountId, password: 'any' }
        : { prompt: 'consent' };
      const submitted = await send(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form),
      });
      assert.ok(submitted.status >= 300 && submitted.status < 400, `${form.prompt}: ${submitted.status}`);
      url = new URL(submitted.headers.get('location')!, issuer).toString();
    }
    throw new Error('the sign-in did not reach the callback');
  }

  const me = (token: string) =>
    stack.query<{ me: { id: string; email: string; name: string } }>('{ me { id email name } }', {}, token);

  it('an app signs in at the provider (code + PKCE) and the gateway accepts its token as a linked user', async () => {
    accounts.set('alice', {
      email: `alice-${suffix}@oidc.test`,
      emailVerified: true,
      name: 'Alice Example',
      groups: [],
    });
    const token = await signInAtProvider('alice');
    const first = await me(token);
    assert.equal(first.errors, undefined, JSON.stringify(first));
    assert.equal(first.data?.me.email, `alice-${suffix}@oidc.test`);
    assert.equal(first.data?.me.name, 'Alice Example');
    // A new sign-in of the same subject is the same user.
    const again = await me(await signInAtProvider('alice'));
    assert.equal(again.data?.me.id, first.data?.me.id);
    // Our own tokens work beside it.
    const admin = await stack.logInAdmin();
    const own = await me(admin);
    assert.equal(own.errors, undefined, JSON.stringify(own));
    assert.notEqual(own.data?.me.id, first.data?.me.id);
  });

  it('a verified email joins the existing account; a provider claim maps to our role', async () => {
    const email = `bob-${suffix}@oidc.test`;
    const signUp = await stack.query<{ signUp: { user: { id: string } } }>(
      'mutation($input: SignUpInput!) { signUp(input: $input) { user { id } } }',
      { input: { email, password: 'a long enough passphrase 1', name: 'Bob' } },
    );
    assert.equal(signUp.errors, undefined, JSON.stringify(signUp));
    accounts.set('bob', { email, emailVerified: true, name: 'Bob', groups: ['shop-staff'] });
    const token = await signInAtProvider('bob');
    const linked = await me(token);
    assert.equal(linked.data?.me.id, signUp.data?.signUp.user.id, JSON.stringify(linked));
    // shop-staff → STAFF: the staff-only user list opens.
    const staffOnly = await stack.query('{ users(first: 1) { edges { node { id } } } }', {}, token);
    assert.equal(staffOnly.errors, undefined, JSON.stringify(staffOnly));
  });

  it('refuses an unverified email that would join an existing account, and forged or misdirected tokens', async () => {
    const email = `carol-${suffix}@oidc.test`;
    await stack.query('mutation($input: SignUpInput!) { signUp(input: $input) { user { id } } }', {
      input: { email, password: 'a long enough passphrase 1', name: 'Carol' },
    });
    accounts.set('carol', { email, emailVerified: false, name: 'Mallory', groups: [] });
    const unverified = await me(await signInAtProvider('carol'));
    assert.equal(unverified.status, 401, JSON.stringify(unverified));
    assert.equal(unverified.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    assert.match(unverified.errors[0].message, /not verified/);

    const key = await import('jose').then(({ importJWK }) => importJWK(providerKey, 'ES256'));
    const claims = { sub: 'mallory', email: `alice-${suffix}@oidc.test`, email_verified: true };
    const sign = (payload: object, iss: string, aud: string) =>
      new SignJWT({ ...payload })
        .setProtectedHeader({ alg: 'ES256', kid: 'provider-key' })
        .setIssuer(iss)
        .setAudience(aud)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(key);
    const publicJwk = { kty: providerKey.kty, crv: providerKey.crv, x: providerKey.x, y: providerKey.y };
    const forged: Record<string, string> = {
      'wrong audience': await sign(claims, issuer, 'https://other-api.test/'),
      'issuer not configured': await sign(claims, 'https://login.elsewhere.test', AUDIENCE),
      'alg none': [
        Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url'),
        Buffer.from(JSON.stringify({ ...claims, iss: issuer, aud: AUDIENCE, exp: Date.now() / 1000 + 300 })).toString(
          'base64url',
        ),
        'x',
      ].join('.'),
      'HS256 with the public key as secret': await new SignJWT({ ...claims })
        .setProtectedHeader({ alg: 'HS256', kid: 'provider-key' })
        .setIssuer(issuer)
        .setAudience(AUDIENCE)
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(JSON.stringify(publicJwk))),
    };
    for (const [what, token] of Object.entries(forged)) {
      const res = await me(token);
      assert.equal(res.status, 401, `${what}: ${JSON.stringify(res)}`);
      assert.equal(res.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED', what);
    }
    // The gateway is still healthy.
    const res = await stack.query('{ categories { id } }');
    assert.equal(res.errors, undefined);
  });
});
