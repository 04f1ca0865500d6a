import type { CheckedChange, CheckResult } from './check.ts';
import type { SchemaChange } from './changes.ts';
import type { Problem } from './composition.ts';

/** Plain-text rendering of a check; stable enough to grep in CI logs and tests. */

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const indent = (text: string, by = '    ') =>
  text
    .split('\n')
    .map((line) => by + line)
    .join('\n');

export function formatProblem(problem: Problem, kind: 'error' | 'hint'): string {
  const who = problem.subgraphs.length ? ` (subgraphs: ${problem.subgraphs.join(', ')})` : '';
  const lines = [`${kind} [${problem.code}]${who}: ${problem.message.split('\n')[0]}`];
  for (const extra of problem.message.split('\n').slice(1)) lines.push(`    ${extra}`);
  for (const l of problem.locations)
    lines.push(`    at ${l.file}:${l.line}:${l.column}${l.subgraph ? ` (${l.subgraph})` : ''}`);
  return lines.join('\n');
}

const counts = (changes: SchemaChange[]) => {
  const n = (level: SchemaChange['level']) => changes.filter((c) => c.level === level).length;
  return `${n('breaking')} breaking, ${n('dangerous')} dangerous, ${n('safe')} safe`;
};

/** Descriptions make messages long and multi-line; a report line needs the gist. */
const oneLine = (text: string, max = 180) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

const MARK = { breaking: '✗ BREAKING ', dangerous: '! DANGEROUS', safe: '+ safe     ' } as const;

function formatChange(change: SchemaChange | CheckedChange): string[] {
  const lines = [`${MARK[change.level]}  ${change.path ?? '(schema)'} — ${oneLine(change.message)}`];
  if ('operations' in change) {
    const ops = change.operations.map((o) => `${o.app}/${o.name} (${o.file}:${o.line})`);
    if (change.level === 'breaking') {
      if (ops.length) lines.push(`      breaks client operations: ${ops.join(', ')}`);
      else lines.push('      no client operation uses it');
      if (change.approval)
        lines.push(`      approved (schema-changes.approved.yaml:${change.approval.line}): ${change.approval.reason}`);
      else
        lines.push(
          `      not approved: add { path: ${change.path ?? '?'}, type: ${change.type}, reason: … } to schema-changes.approved.yaml once reviewed`,
        );
      if (change.approval && ops.length)
        lines.push('      approval does not cover broken client operations: change the operations first');
    } else if (change.level === 'dangerous' && ops.length) {
      lines.push(`      used by: ${ops.join(', ')}`);
    }
  }
  if (change.level !== 'safe' && change.reason) lines.push(`      (${oneLine(change.reason, 160)})`);
  return lines;
}

export function renderReport(result: CheckResult): string {
  const out: string[] = [];
  const section = (title: string) => out.push('', `── ${title} ${'─'.repeat(Math.max(0, 72 - title.length))}`);

  out.push(`Schema check of ${result.root}`);
  out.push(`Baseline: ${result.baseline.label} (API schema: ${result.baseline.api})`);

  section('Composition (supergraph.yaml)');
  const { composition } = result;
  for (const s of composition.subgraphs) {
    const errors = composition.errors.filter((e) => e.subgraphs.includes(s.name));
    const hints = composition.hints.filter((h) => h.subgraphs.includes(s.name));
    const state = errors.length
      ? `✗ ${plural(errors.length, 'error')}`
      : composition.supergraphSdl
        ? '✓ composes'
        : '· no errors of its own';
    out.push(
      `  ${s.name.padEnd(16)} ${s.file.padEnd(40)} ${state}${hints.length ? `, ${plural(hints.length, 'hint')}` : ''}`,
    );
  }
  for (const error of composition.errors) out.push(indent(formatProblem(error, 'error'), '  '));
  for (const hint of composition.hints) out.push(indent(formatProblem(hint, 'hint'), '  '));
  if (composition.supergraphSdl) out.push('  ✓ the supergraph composes');

  section('Generated schema files');
  if (!composition.supergraphSdl) out.push('  · not checked: the supergraph does not compose');
  else if (result.staleArtifacts.length === 0)
    out.push('  ✓ supergraph.graphql and clients/generated/schema.graphql match a fresh composition');
  for (const s of result.staleArtifacts)
    out.push(
      `  ✗ ${s.path} is ${s.problem === 'missing' ? 'missing' : 'stale (differs from a fresh composition)'}: run \`${s.remedy}\``,
    );

  section(`API schema changes vs ${result.baseline.api}`);
  if (!composition.supergraphSdl) out.push('  · not compared: the supergraph does not compose');
  else if (result.baseline.api.startsWith('none')) out.push(`  · ${result.baseline.api}`);
  else {
    out.push(`  ${counts(result.apiChanges)}`);
    for (const change of result.apiChanges) out.push(...formatChange(change).map((l) => `  ${l}`));
  }
  for (const a of result.unusedApprovals) {
    out.push(
      `  · schema-changes.approved.yaml:${a.line}: approval for ${a.path} matches no change (already merged? remove it)`,
    );
  }
  for (const p of result.approvalProblems) out.push(`  ✗ ${p.file}:${p.line}: ${p.message}`);

  section('Subgraph schema changes (per team; clients see only the API schema)');
  for (const d of result.subgraphDiffs) {
    if (d.status !== 'compared') {
      out.push(`  ${d.name.padEnd(16)} ${d.status === 'unchanged' ? 'unchanged' : (d.note ?? d.status)}`);
      continue;
    }
    out.push(`  ${d.name.padEnd(16)} ${counts(d.changes)}`);
    for (const change of d.changes) out.push(...formatChange(change).map((l) => `    ${l}`));
  }

  section('Client operations (clients/**/*.graphql)');
  const { documents } = result;
  const apps = [...new Set(documents.operations.map((o) => o.app))];
  out.push(
    `  ${plural(documents.operations.length, 'operation')} in ${plural(documents.files.length, 'file')} (${apps.map((a) => `${a}: ${documents.operations.filter((o) => o.app === a).length}`).join(', ') || 'no apps'})`,
  );
  for (const p of documents.problems) out.push(`  ✗ ${p.file}:${p.line}:${p.column}: ${p.message}`);
  for (const p of result.operationErrors) out.push(`  ✗ ${p.file}:${p.line}:${p.column}: ${p.operation}: ${p.message}`);
  if (!composition.supergraphSdl) out.push('  · not validated: the supergraph does not compose');
  else if (!documents.problems.length && !result.operationErrors.length)
    out.push('  ✓ every operation is valid against the new API schema');

  section('Generated client code (npm run codegen)');
  const { codegen } = result;
  if (codegen.status === 'fresh') out.push('  ✓ clients/generated/ is up to date');
  if (codegen.status === 'skipped' || codegen.status === 'failed')
    out.push(`  ${codegen.status === 'failed' ? '✗ failed' : '·'} ${codegen.note ?? ''}`);
  for (const s of codegen.stale) {
    out.push(`  ✗ ${s.path}: ${s.problem === 'unexpected' ? 'no longer generated' : s.problem}; run \`${s.remedy}\``);
  }

  out.push('');
  if (result.failures.length === 0) out.push('Schema check passed.');
  else {
    out.push(`Schema check FAILED (${plural(result.failures.length, 'problem')}):`);
    for (const f of result.failures) out.push(`  - ${f}`);
  }
  return out.join('\n');
}
