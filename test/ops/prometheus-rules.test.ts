import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * The alert rules of ops/prometheus/, checked by Prometheus's own tool
 * (Debian's `prometheus` package, installed by scripts/services/services.sh):
 * every rule file and the compose Prometheus config load, and every alert
 * does what alerts.test.yml says it does with a known history of its series.
 */
const run = promisify(execFile);
const DIR = fileURLToPath(new URL('../../ops/prometheus/', import.meta.url));

const promtool = async (...args: string[]) => {
  try {
    const { stdout, stderr } = await run('promtool', args, { cwd: DIR });
    return stdout + stderr;
  } catch (error) {
    const { stdout, stderr, code } = error as { stdout?: string; stderr?: string; code?: number | string };
    if (code === 'ENOENT') throw new Error('promtool not found: `npm run services start` installs Debian’s prometheus');
    throw new Error(`promtool ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`);
  }
};

describe('Prometheus rules (promtool)', () => {
  it('loads the recording rules, the alerts and the compose config', async () => {
    const rules = await promtool('check', 'rules', 'slo-rules.yml', 'alerts.yml');
    assert.match(rules, /slo-rules\.yml\s+SUCCESS: \d+ rules found/);
    assert.match(rules, /alerts\.yml\s+SUCCESS: \d+ rules found/);
    const config = await promtool('check', 'config', 'prometheus.yml');
    assert.match(config, /SUCCESS/);
  });

  it('fires each alert, and only it, on the series histories of alerts.test.yml', async () => {
    const output = await promtool('test', 'rules', 'alerts.test.yml');
    assert.match(output, /SUCCESS/);
  });
});
