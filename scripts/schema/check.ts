/**
 * `npm run schema:check`: can this tree ship without breaking composition or
 * a shipped client? Offline, like GraphOS checks:
 *
 *  - composes every subgraph in supergraph.yaml (errors and hints per subgraph,
 *    with both sides of a conflict and their file:line);
 *  - diffs the new API schema and each subgraph schema against a baseline
 *    (`--base <ref>`; default HEAD) with @graphql-inspector/core;
 *  - validates clients/**\/*.graphql against the new API schema and names the
 *    operations each breaking change breaks;
 *  - fails on a breaking change unless no client operation uses it and it is
 *    approved in schema-changes.approved.yaml;
 *  - fails when supergraph.graphql, clients/generated/schema.graphql or the
 *    generated client code differ from a fresh `npm run compose` / `npm run codegen`.
 *
 *   tsx scripts/schema/check.ts [--base <git ref>] [--root <dir>] [--skip-codegen]
 *
 * Exit code 0: passed; 1: failed; 2: could not run (bad arguments, unknown ref).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runSchemaCheck } from './lib/check.ts';
import { renderReport } from './lib/report.ts';

let values: { base?: string; root?: string; 'skip-codegen'?: boolean };
try {
  ({ values } = parseArgs({
    options: { base: { type: 'string' }, root: { type: 'string' }, 'skip-codegen': { type: 'boolean' } },
  }));
} catch (error) {
  process.stderr.write(
    `${(error as Error).message}\nusage: schema:check [--base <git ref>] [--root <dir>] [--skip-codegen]\n`,
  );
  process.exit(2);
}

try {
  const result = await runSchemaCheck({
    root: resolve(values.root ?? process.cwd()),
    ...(values.base ? { base: values.base } : {}),
    skipCodegen: values['skip-codegen'] ?? false,
  });
  process.stdout.write(`${renderReport(result)}\n`);
  // exitCode, not exit(): a piped stdout (CI logs) gets the whole report before the process ends.
  process.exitCode = result.failures.length ? 1 : 0;
} catch (error) {
  process.stderr.write(`schema:check could not run: ${(error as Error).message}\n`);
  process.exitCode = 2;
}
