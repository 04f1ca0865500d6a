import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

/**
 * Generated code and migrations are committed or derived from committed
 * sources; these tests fail when someone changed a schema and forgot to
 * regenerate, so review sees the real types and SQL that will run.
 */
const run = (command: string, args: string[]) =>
  spawnSync(command, args, { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' }, timeout: 300_000 });

describe('repository checks', () => {
  it('resolver types are up to date with every schema.graphql (npm run codegen)', () => {
    const result = run('npx', ['graphql-codegen', '--config', 'codegen.ts', '--check']);
    assert.equal(
      result.status,
      0,
      `Stale generated resolver types; run \`npm run codegen\`\n${result.stdout}${result.stderr}`,
    );
  });

  it('docs/configuration.md is up to date with the configuration schemas (npm run docs:config)', () => {
    const result = run('npx', ['tsx', 'scripts/config-docs.ts', '--check']);
    assert.equal(result.status, 0, `Stale configuration reference\n${result.stdout}${result.stderr}`);
  });

  it('every schema.prisma matches its committed migrations (npm run db:check)', () => {
    const result = run('npx', ['tsx', 'scripts/prisma/check.ts']);
    assert.equal(result.status, 0, `Migrations drift from schema.prisma\n${result.stdout}${result.stderr}`);
  });

  it('every source file is formatted (npm run format)', () => {
    const result = run('npx', ['prettier', '--check', '.']);
    assert.equal(result.status, 0, `Unformatted files; run \`npm run format\`\n${result.stdout}${result.stderr}`);
  });

  it('every TypeScript file passes the linter (npm run lint)', () => {
    const result = run('npx', ['eslint', '.']);
    assert.equal(result.status, 0, `Lint findings; run \`npm run lint\`\n${result.stdout}${result.stderr}`);
  });

  it('the whole repository type-checks in strict mode (npm run typecheck)', () => {
    const result = run('npx', ['tsc', '-p', 'tsconfig.json']);
    assert.equal(result.status, 0, `Type errors:\n${result.stdout}${result.stderr}`);
  });
});
