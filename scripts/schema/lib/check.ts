import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, posix, relative } from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse, Source, type GraphQLSchema } from 'graphql';
import { findApproval, loadApprovals, type Approval } from './approvals.ts';
import { composeArtifacts, SUPERGRAPH_FILE } from './artifacts.ts';
import { resolveBaseline, type Baseline } from './baseline.ts';
import { affectedOperations, diffSchemas, type SchemaChange } from './changes.ts';
import { CLIENT_SCHEMA, clientCodegen } from './client-codegen.ts';
import { apiSchemaOf, composeSupergraph, subgraphSchemaOf, type CompositionReport } from './composition.ts';
import {
  GENERATED_DIR,
  loadClientDocuments,
  operationUsage,
  validateOperations,
  type ClientDocuments,
  type ClientOperation,
  type OperationProblem,
} from './operations.ts';
import { parseSupergraphConfig, SUPERGRAPH_CONFIG } from './supergraph-config.ts';

/**
 * The whole schema check as data; `report.ts` renders it and `check.ts` (the
 * CLI) turns `failures` into the exit code. Nothing here writes files.
 */
export interface CheckOptions {
  /** Repository root. */
  root: string;
  /** Git ref to compare with; default HEAD (or the working tree outside git). */
  base?: string;
  /** Skip regenerating client code in memory (it is the slowest part). */
  skipCodegen?: boolean;
}

export interface CheckedChange extends SchemaChange {
  /** Client operations using what the change breaks (or, for dangerous changes, touches). */
  operations: ClientOperation[];
  approval?: Approval;
  /** Whether this change fails the check. */
  fails: boolean;
}

export interface SubgraphDiff {
  name: string;
  file: string;
  /** `added` when the subgraph is new at the baseline, `unchanged` when identical. */
  status: 'compared' | 'added' | 'unchanged' | 'skipped';
  note?: string;
  changes: SchemaChange[];
}

export interface StaleFile {
  path: string;
  problem: 'differs' | 'missing' | 'unexpected';
  remedy: string;
}

export interface CheckResult {
  root: string;
  baseline: { label: string; api: string };
  composition: CompositionReport;
  apiChanges: CheckedChange[];
  subgraphDiffs: SubgraphDiff[];
  documents: ClientDocuments;
  operationErrors: OperationProblem[];
  staleArtifacts: StaleFile[];
  codegen: { status: 'fresh' | 'stale' | 'skipped' | 'failed'; stale: StaleFile[]; note?: string };
  /** Approvals that matched no change: harmless, but should be removed. */
  unusedApprovals: Approval[];
  approvalProblems: { file: string; line: number; message: string }[];
  /** One line per reason the check fails; empty means it passed. */
  failures: string[];
}

const opLabel = (op: ClientOperation) => `${op.app}/${op.name} (${op.file}:${op.line})`;

export async function runSchemaCheck(options: CheckOptions): Promise<CheckResult> {
  const { root } = options;
  const failures: string[] = [];

  // 1. Compose what is in the tree.
  const config = parseSupergraphConfig(root);
  const composition = composeSupergraph(root, config);
  for (const error of composition.errors) {
    failures.push(
      `composition: [${error.code}] ${error.subgraphs.length ? `(${error.subgraphs.join(', ')}) ` : ''}${error.message.split('\n')[0]}`,
    );
  }
  const newApi = composition.supergraphSdl ? apiSchemaOf(composition.supergraphSdl) : undefined;

  // 2. The baseline API schema.
  const baseline = resolveBaseline(root, options.base);
  const base = baselineApi(root, baseline);

  // 3. Client operations: parse, then validate against the new API schema.
  const documents = loadClientDocuments(root);
  for (const p of documents.problems) failures.push(`client document ${p.file}:${p.line}:${p.column}: ${p.message}`);
  const operationErrors = newApi ? validateOperations(documents.operations, newApi) : [];
  for (const p of operationErrors)
    failures.push(`operation ${p.operation} at ${p.file}:${p.line}:${p.column}: ${p.message}`);

  // 4. API changes, and the operations each one breaks.
  const approvals = loadApprovals(root);
  const approvalProblems = approvals.problems.map((p) => ({ file: approvals.file, ...p }));
  for (const p of approvalProblems) failures.push(`${p.file}:${p.line}: ${p.message}`);
  const usedApprovals = new Set<Approval>();
  let apiChanges: CheckedChange[] = [];
  if (newApi && base.schema) {
    // Usage read against both schemas: the baseline still has what was removed,
    // the new one has what operations written for it already use.
    const usages = documents.operations.map((operation) => {
      const before = operationUsage(operation, base.schema!);
      const after = operationUsage(operation, newApi);
      return {
        operation,
        usage: {
          coordinates: new Set([...before.coordinates, ...after.coordinates]),
          types: new Set([...before.types, ...after.types]),
        },
      };
    });
    apiChanges = (await diffSchemas(base.schema, newApi)).map((change) => {
      const operations = change.level === 'safe' ? [] : affectedOperations(change, usages);
      const approval = change.level === 'breaking' ? findApproval(approvals, change) : undefined;
      if (approval) usedApprovals.add(approval);
      const fails = change.level === 'breaking' && (operations.length > 0 || !approval);
      if (fails) {
        const why = operations.length
          ? `breaks ${operations.map(opLabel).join(', ')}`
          : `not approved in ${approvals.file}`;
        failures.push(`breaking change ${change.path ?? ''}: ${change.message} — ${why}`);
      }
      return { ...change, operations, ...(approval ? { approval } : {}), fails };
    });
  }
  const unusedApprovals = approvals.entries.filter((a) => !usedApprovals.has(a));

  // 5. Each subgraph against its baseline version (informational: clients see only the API schema).
  const subgraphDiffs = await diffSubgraphs(composition, baseline);

  // 6. Generated files must match a fresh composition and codegen run.
  const staleArtifacts: StaleFile[] = [];
  if (composition.supergraphSdl) {
    for (const artifact of composeArtifacts(composition.supergraphSdl)) {
      const path = join(root, artifact.path);
      const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
      if (current !== artifact.content) {
        staleArtifacts.push({
          path: artifact.path,
          problem: current === undefined ? 'missing' : 'differs',
          remedy: artifact.remedy,
        });
      }
    }
  }
  for (const s of staleArtifacts)
    failures.push(`${s.path} is ${s.problem === 'missing' ? 'missing' : 'stale'}: run \`${s.remedy}\``);

  const codegen = await checkClientCodegen(root, {
    skip: options.skipCodegen
      ? 'skipped (--skip-codegen)'
      : staleArtifacts.some((s) => s.path === CLIENT_SCHEMA)
        ? `skipped: ${CLIENT_SCHEMA} is stale; run \`npm run compose\`, then \`npm run codegen\``
        : !composition.supergraphSdl
          ? 'skipped: the supergraph does not compose'
          : documents.problems.length || operationErrors.length
            ? 'skipped: fix the client operations first'
            : undefined,
  });
  for (const s of codegen.stale) {
    failures.push(
      `${s.path} is ${s.problem === 'unexpected' ? 'no longer generated (delete it)' : s.problem === 'missing' ? 'missing' : 'stale'}: run \`${s.remedy}\``,
    );
  }
  if (codegen.status === 'failed') failures.push(`client codegen failed: ${codegen.note}`);

  return {
    root,
    baseline: { label: baseline.label, api: base.label },
    composition,
    apiChanges,
    subgraphDiffs,
    documents,
    operationErrors,
    staleArtifacts,
    codegen,
    unusedApprovals,
    approvalProblems,
    failures,
  };
}

/**
 * The baseline's API schema: its supergraph.graphql; failing that (a ref from
 * before supergraph.graphql was committed), a composition of its subgraphs.
 */
function baselineApi(root: string, baseline: Baseline): { schema?: GraphQLSchema; label: string } {
  const committed = baseline.read(SUPERGRAPH_FILE);
  if (committed !== undefined) {
    try {
      return { schema: apiSchemaOf(committed), label: `${SUPERGRAPH_FILE} at ${baseline.label}` };
    } catch (error) {
      return {
        label: `none: ${SUPERGRAPH_FILE} at ${baseline.label} is not a valid supergraph (${(error as Error).message.split('\n')[0]})`,
      };
    }
  }
  const configText = baseline.ref ? baseline.read(SUPERGRAPH_CONFIG) : undefined;
  if (configText === undefined)
    return { label: `none: no ${SUPERGRAPH_FILE} at ${baseline.label} (every type counts as new)` };
  try {
    const config = parseSupergraphConfig(root, SUPERGRAPH_CONFIG, configText);
    const result = composeServices(
      config.subgraphs.map((s) => {
        const sdl = baseline.read(s.file);
        if (sdl === undefined) throw new Error(`${s.file} does not exist there`);
        return { name: s.name, url: s.routingUrl, typeDefs: parse(new Source(sdl, s.file)) };
      }),
    );
    if (!result.supergraphSdl) throw new Error(result.errors?.[0]?.message ?? 'composition failed');
    return {
      schema: apiSchemaOf(result.supergraphSdl),
      label: `the subgraphs at ${baseline.label}, composed (no ${SUPERGRAPH_FILE} there)`,
    };
  } catch (error) {
    return {
      label: `none: no ${SUPERGRAPH_FILE} at ${baseline.label} and its subgraphs do not compose (${(error as Error).message.split('\n')[0]})`,
    };
  }
}

async function diffSubgraphs(composition: CompositionReport, baseline: Baseline): Promise<SubgraphDiff[]> {
  const diffs: SubgraphDiff[] = [];
  for (const subgraph of composition.subgraphs) {
    const entry = { name: subgraph.name, file: subgraph.file, changes: [] as SchemaChange[] };
    if (!baseline.ref) {
      diffs.push({ ...entry, status: 'skipped', note: 'not a git checkout: no earlier version to compare with' });
      continue;
    }
    if (!subgraph.sdl || !subgraph.document) {
      diffs.push({ ...entry, status: 'skipped', note: 'does not parse (see composition)' });
      continue;
    }
    const before = baseline.read(subgraph.file);
    if (before === undefined) {
      diffs.push({ ...entry, status: 'added', note: `new: not at ${baseline.label}` });
      continue;
    }
    if (before === subgraph.sdl) {
      diffs.push({ ...entry, status: 'unchanged' });
      continue;
    }
    try {
      const changes = await diffSchemas(
        subgraphSchemaOf(before, `${baseline.label}:${subgraph.file}`),
        subgraphSchemaOf(subgraph.sdl, subgraph.file),
      );
      diffs.push({ ...entry, status: 'compared', changes });
    } catch (error) {
      diffs.push({ ...entry, status: 'skipped', note: `cannot compare: ${(error as Error).message.split('\n')[0]}` });
    }
  }
  return diffs;
}

/** Regenerates the client codegen outputs in memory and compares them with the files. */
async function checkClientCodegen(
  root: string,
  options: { skip: string | undefined },
): Promise<CheckResult['codegen']> {
  if (options.skip) return { status: 'skipped', stale: [], note: options.skip };
  const generates = clientCodegen(root);
  if (Object.keys(generates).length === 0)
    return { status: 'skipped', stale: [], note: 'no client apps under clients/' };
  let outputs: { filename: string; content: string }[];
  try {
    const { generate } = await import('@graphql-codegen/cli');
    // Plugins resolve from this repository's node_modules, whatever `root` is.
    const pluginLoader = (name: string) => import(name);
    outputs = (await generate({ generates, cwd: root, silent: true, overwrite: true, pluginLoader }, false)) as {
      filename: string;
      content: string;
    }[];
  } catch (error) {
    return { status: 'failed', stale: [], note: (error as Error).message.trim().split('\n').slice(0, 8).join('\n') };
  }
  const stale: StaleFile[] = [];
  const produced = new Set<string>([CLIENT_SCHEMA]);
  for (const output of outputs) {
    const path = (isAbsolute(output.filename) ? relative(root, output.filename) : output.filename)
      .split(/[\\/]/)
      .join(posix.sep);
    produced.add(path);
    const file = join(root, path);
    const current = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
    if (current !== output.content)
      stale.push({ path, problem: current === undefined ? 'missing' : 'differs', remedy: 'npm run codegen' });
  }
  for (const entry of existsSync(join(root, GENERATED_DIR)) ? readdirSync(join(root, GENERATED_DIR)) : []) {
    const path = `${GENERATED_DIR}/${entry}`;
    if (!produced.has(path) && !entry.startsWith('.'))
      stale.push({ path, problem: 'unexpected', remedy: `rm ${path}` });
  }
  return { status: stale.length ? 'stale' : 'fresh', stale };
}
