import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { serviceTestEnv, subgraphCaller, type SubgraphCaller } from '@storefront/platform/testing';
import type { RunningService } from '@storefront/platform/service';
import { loadUsersConfig, startUsers } from '../src/index.ts';

const SIGN_UP = `mutation($input: SignUpInput!) {
  signUp(input: $input) { accessToken refreshToken expiresIn user { id email name role } }
}`;
const REFRESH = `mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken user { id } } }`;

describe('users: accounts and sessions', () => {
  let users: RunningService;
  let call: SubgraphCaller;

  before(async () => {
    users = await startUsers(loadUsersConfig(await serviceTestEnv()));
    call = subgraphCaller(users);
  });
  after(() => users?.stop());

  it('signs up, returns a session and shows the new user their own email', async () => {
    const res = await call(SIGN_UP, {
      input: { email: ' Ann@Example.COM ', password: 'correct-horse-9', name: 'Ann' },
    });
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
    const right = await call(
      `mutation { logIn(email: "BOB@example.com", password: "bobs-password-1") { user { name } } }`,
    );
    assert.equal(right.data?.logIn.user.name, 'Bob');
  });

  it('rotates refresh tokens and revokes the family when a spent one is replayed', async () => {
    const signUp = await call(SIGN_UP, {
      input: { email: 'carol@example.com', password: 'carols-password-1', name: 'Carol' },
    });
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
    const dave = (
      await call(SIGN_UP, { input: { email: 'dave@example.com', password: 'daves-password-1', name: 'Dave' } })
    ).data!.signUp.user;
    const query = `query($id: ID!) { user(id: $id) { id name email } }`;
    const asSelf = await call(query, { id: dave.id }, { userId: dave.id, role: 'CUSTOMER' });
    assert.equal(asSelf.data?.user.email, 'dave@example.com');
    const asStaff = await call(
      query,
      { id: dave.id },
      { userId: 'f0000000-0000-4000-8000-000000000000', role: 'STAFF' },
    );
    assert.equal(asStaff.data?.user.email, 'dave@example.com');
    const asOther = await call(
      query,
      { id: dave.id },
      { userId: 'f0000000-0000-4000-8000-000000000000', role: 'CUSTOMER' },
    );
    assert.equal(asOther.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  });

  it('answers malformed ids like unknown ones, never with a database error', async () => {
    const staff = { userId: 'f0000000-0000-4000-8000-000000000000', role: 'STAFF' } as const;
    const admin = { userId: 'f0000000-0000-4000-8000-00000000000a', role: 'ADMIN' } as const;
    for (const id of ['not-a-uuid', 'f0000000-0000-4000-8000-000000000999']) {
      const lookup = await call(`query($id: ID!) { user(id: $id) { id } }`, { id }, staff);
      assert.equal(lookup.errors?.[0]?.extensions?.code, 'NOT_FOUND', JSON.stringify(lookup.errors));
      const deactivate = await call(`mutation($id: ID!) { deactivateUser(id: $id) { id } }`, { id }, admin);
      assert.equal(deactivate.errors?.[0]?.extensions?.code, 'NOT_FOUND', JSON.stringify(deactivate.errors));
    }

    const erin = (
      await call(SIGN_UP, { input: { email: 'erin@example.com', password: 'erins-password-1', name: 'Erin' } })
    ).data!.signUp.user;
    const entities = await call(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id name } } }`,
      {
        r: [
          { __typename: 'User', id: 'not-a-uuid' },
          { __typename: 'User', id: erin.id },
        ],
      },
      staff,
    );
    assert.equal(entities.errors, undefined, JSON.stringify(entities.errors));
    assert.deepEqual(entities.data?._entities, [null, { id: erin.id, name: 'Erin' }]);

    const forged = Buffer.from(JSON.stringify([new Date().toISOString(), 'not-a-uuid'])).toString('base64url');
    const page = await call(
      `query($after: String) { users(first: 2, after: $after) { edges { cursor } } }`,
      { after: forged },
      staff,
    );
    assert.equal(page.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', JSON.stringify(page.errors));
    assert.equal(page.errors?.[0]?.extensions?.field, 'after');
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
