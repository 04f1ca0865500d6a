import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { callSubgraph, serviceTestEnv } from '@storefront/platform/testing';
import type { RunningService } from '@storefront/platform/server/service';
import { loadUsersConfig, startUsers } from '../src/index.ts';

const SIGN_UP = `mutation($input: SignUpInput!) {
  signUp(input: $input) { accessToken refreshToken expiresIn user { id email name role } }
}`;
const REFRESH = `mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken user { id } } }`;

describe('users: accounts and sessions', () => {
  let users: RunningService;
  const call = (query: string, variables?: Record<string, unknown>, identity?: Parameters<typeof callSubgraph>[3]) =>
    callSubgraph(users.url, query, variables, identity);

  before(async () => {
    users = await startUsers(loadUsersConfig(await serviceTestEnv()));
  });
  after(() => users.stop());

  it('signs up, returns a session and shows the new user their own email', async () => {
    const res = await call(SIGN_UP, { input: { email: ' Ann@Example.COM ', password: 'correct-horse-9', name: 'Ann' } });
    assert.equal(res.errors, undefined);
    const session = res.data!.signUp;
    assert.equal(session.user.email, 'ann@example.com');
    assert.equal(session.user.role, 'CUSTOMER');
    assert.equal(session.expiresIn, 900);
    assert.match(session.accessToken, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it('refuses a duplicate email and a weak password, naming the field', async () => {
    const input = { email: 'dup@example.com', password: 'correct-horse-9', name: 'Dup' };
    assert.equal((await call(SIGN_UP, { input })).errors, undefined);
    const duplicate = await call(SIGN_UP, { input });
    assert.equal(duplicate.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    assert.equal(duplicate.errors?.[0]?.extensions?.field, 'input.email');
    const weak = await call(SIGN_UP, { input: { ...input, email: 'weak@example.com', password: 'short1' } });
    assert.equal(weak.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    assert.equal(weak.errors?.[0]?.extensions?.field, 'input.password');
  });

  it('logs in only with the right password', async () => {
    await call(SIGN_UP, { input: { email: 'bob@example.com', password: 'bobs-password-1', name: 'Bob' } });
    const wrong = await call(`mutation { logIn(email: "bob@example.com", password: "nope-nope-1") { accessToken } }`);
    assert.equal(wrong.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    const right = await call(`mutation { logIn(email: "BOB@example.com", password: "bobs-password-1") { user { name } } }`);
    assert.equal(right.data?.logIn.user.name, 'Bob');
  });

  it('rotates refresh tokens and revokes the family when a spent one is replayed', async () => {
    const signUp = await call(SIGN_UP, { input: { email: 'carol@example.com', password: 'carols-password-1', name: 'Carol' } });
    const first = signUp.data!.signUp.refreshToken;
    const second = (await call(REFRESH, { t: first })).data!.refreshSession.refreshToken;
    assert.notEqual(second, first);
    const replay = await call(REFRESH, { t: first });
    assert.equal(replay.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    // The thief's replay also ended the legitimate holder's session.
    const afterReplay = await call(REFRESH, { t: second });
    assert.equal(afterReplay.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  });

  it('shows email only to the user and staff', async () => {
    const dave = (await call(SIGN_UP, { input: { email: 'dave@example.com', password: 'daves-password-1', name: 'Dave' } })).data!.signUp.user;
    const query = `query($id: ID!) { user(id: $id) { id name email } }`;
    const asSelf = await call(query, { id: dave.id }, { userId: dave.id, role: 'CUSTOMER' });
    assert.equal(asSelf.data?.user.email, 'dave@example.com');
    const asStaff = await call(query, { id: dave.id }, { userId: 'f0000000-0000-4000-8000-000000000000', role: 'STAFF' });
    assert.equal(asStaff.data?.user.email, 'dave@example.com');
    const asOther = await call(query, { id: dave.id }, { userId: 'f0000000-0000-4000-8000-000000000000', role: 'CUSTOMER' });
    assert.equal(asOther.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  });

  it('refuses requests that the gateway did not sign', async () => {
    const res = await fetch(users.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });
    assert.equal(res.status, 401);
    const body = (await res.json()) as { errors: { extensions: { code: string } }[] };
    assert.equal(body.errors[0]?.extensions.code, 'UNAUTHENTICATED');
  });
});
