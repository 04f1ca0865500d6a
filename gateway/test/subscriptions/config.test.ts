import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '@storefront/platform/config';
import { loadGatewayConfig } from '../../src/config.ts';

describe('subscription settings', () => {
  it('default to safe limits', () => {
    const config = loadGatewayConfig({});
    assert.equal(config.WS_MAX_OPERATIONS, 20);
    assert.equal(config.WS_MAX_MESSAGES_PER_SECOND, 20);
    assert.equal(config.WS_MESSAGE_BURST, 60);
    assert.equal(config.WS_MAX_MESSAGE_BYTES, 256 * 1024);
    assert.equal(config.WS_CONNECTION_INIT_TIMEOUT_MS, 5_000);
    assert.equal(config.WS_MAX_BUFFERED_EVENTS, 100);
  });

  it('refuse bad values, naming the key', () => {
    for (const [key, value] of [
      ['WS_MAX_OPERATIONS', '0'],
      ['WS_MAX_MESSAGES_PER_SECOND', 'lots'],
      ['WS_MAX_MESSAGE_BYTES', '10'],
      ['WS_CONNECTION_INIT_TIMEOUT_MS', '1.5'],
      ['UPSTREAM_WS_RETRY_ATTEMPTS', '-1'],
    ] as const) {
      assert.throws(
        () => loadGatewayConfig({ [key]: value }),
        (error: unknown) => error instanceof ConfigError && error.problems.some((p) => p.startsWith(`${key}:`)),
        `${key}=${value}`,
      );
    }
  });
});
