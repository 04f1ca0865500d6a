/**
 * `npm run compose`: composes the subgraphs listed in supergraph.yaml with
 * @apollo/composition (what `rover supergraph compose` does, offline) and
 * writes supergraph.graphql plus the API schema clients are typed against
 * (clients/generated/schema.graphql). Exits 1, printing every error with its
 * subgraphs and file:line, when the subgraphs do not compose.
 *
 *   tsx scripts/schema/compose.ts [--root <dir>] [--keep-going]
 *
 * `--keep-going` (what `npm run codegen` uses): when the subgraphs do not
 * compose, print the errors, write nothing and exit 0, so resolver types can
 * still be generated mid-change; `npm run schema:check` fails on it anyway.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { composeArtifacts } from './lib/artifacts.ts';
import { composeSupergraph } from './lib/composition.ts';
import { formatProblem } from './lib/report.ts';
import { parseSupergraphConfig } from './lib/supergraph-config.ts';

const { values } = parseArgs({ options: { root: { type: 'string' }, 'keep-going': { type: 'boolean' } } });
const root = resolve(values.root ?? process.cwd());

const report = composeSupergraph(root, parseSupergraphConfig(root));
for (const hint of report.hints) process.stdout.write(`${formatProblem(hint, 'hint')}\n`);
if (!report.supergraphSdl) {
  for (const error of report.errors) process.stderr.write(`${formatProblem(error, 'error')}\n`);
  process.stderr.write(
    `\nThe supergraph does not compose (${report.errors.length} error${report.errors.length === 1 ? '' : 's'}); nothing written.\n`,
  );
  process.exit(values['keep-going'] ? 0 : 1);
}
for (const artifact of composeArtifacts(report.supergraphSdl)) {
  const path = join(root, artifact.path);
  let previous: string | undefined;
  try {
    previous = readFileSync(path, 'utf8');
  } catch {
    previous = undefined;
  }
  if (previous === artifact.content) {
    process.stdout.write(`${artifact.path} is up to date\n`);
    continue;
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, artifact.content);
  process.stdout.write(`wrote ${artifact.path}\n`);
}
process.stdout.write(
  `Composed ${report.subgraphs.map((s) => s.name).join(', ')}. Run \`npm run codegen\` if client operations or the API schema changed.\n`,
);
