import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * @apollo/gateway reports usage data to Apollo (the host, the cloud it runs
 * in, its uptime) unless told not to. A self-hosted gateway reports to no one
 * by default; APOLLO_TELEMETRY=true lets it. Every HTTP request the process
 * starts is watched while a gateway starts, answers and stops.
 */
const APOLLO_HOST = 'usage-reporting.api.apollographql.com';

async function hostsContactedBy(run: () => Promise<void>): Promise<string[]> {
  const hosts: string[] = [];
  const onRequest = (message: unknown) => {
    const { request } = message as { request: ClientRequest };
    hosts.push(String(request.getHeader('host') ?? request.host));
  };
  subscribe('http.client.request.start', onRequest);
  try {
    await run();
  } finally {
    unsubscribe('http.client.request.start', onRequest);
  }
  return hosts;
}

describe('gateway: usage data for Apollo', { timeout: 90_000 }, () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ embedded: true });
  });
  after(async () => {
    await stack?.stop();
  });

  const startAnswerStop = (env: Record<string, string>) => async () => {
    const gateway = await stack.startGateway(env);
    const res = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ categories { name } }' }),
    });
    assert.equal(res.status, 200);
    await gateway.stop();
  };

  it('sends Apollo nothing by default', async () => {
    const hosts = await hostsContactedBy(startAnswerStop({}));
    assert.deepEqual(
      hosts.filter((host) => host.includes('apollographql.com')),
      [],
    );
  });

  it('reports to Apollo only with APOLLO_TELEMETRY=true', async () => {
    delete process.env.APOLLO_TELEMETRY_DISABLED; // as in a process that never started a gateway without it
    const hosts = await hostsContactedBy(startAnswerStop({ APOLLO_TELEMETRY: 'true' }));
    assert.ok(
      hosts.some((host) => host.includes(APOLLO_HOST)),
      `expected a request to ${APOLLO_HOST}, saw: ${hosts.join(', ')}`,
    );
  });
});
