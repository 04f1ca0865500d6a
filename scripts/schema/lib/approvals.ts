import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import type { SchemaChange } from './changes.ts';

/**
 * Breaking API changes a reviewer accepted, kept under version control in
 * `schema-changes.approved.yaml`. An entry matches a change by its path
 * (schema coordinate), and also by type and message when those are given.
 * Approval never overrides a broken client operation: the check still fails
 * when a shipped operation uses what the change breaks.
 */
export const APPROVALS_FILE = 'schema-changes.approved.yaml';

export interface Approval {
  path: string;
  type?: string;
  message?: string;
  reason: string;
  /** Line of the entry in the file, for the report. */
  line: number;
}

export interface Approvals {
  file: string;
  entries: Approval[];
  /** Malformed entries: they fail the check. */
  problems: { line: number; message: string }[];
}

export function loadApprovals(root: string, file = APPROVALS_FILE): Approvals {
  const result: Approvals = { file, entries: [], problems: [] };
  if (!existsSync(join(root, file))) return result;
  const text = readFileSync(join(root, file), 'utf8');
  const document = parseDocument(text);
  const lineOf = (offset: number | undefined) => (offset === undefined ? 1 : text.slice(0, offset).split('\n').length);
  for (const error of document.errors) result.problems.push({ line: lineOf(error.pos[0]), message: error.message });
  if (document.errors.length) return result;

  const raw = document.toJS() as { approved?: unknown } | null;
  const list = raw?.approved ?? [];
  if (!Array.isArray(list)) {
    result.problems.push({ line: 1, message: '`approved` must be a list of { path, reason, type?, message? }' });
    return result;
  }
  const nodes =
    (document.get('approved', true) as { items?: { range?: [number, number, number] }[] } | undefined)?.items ?? [];
  list.forEach((entry: unknown, index) => {
    const line = lineOf(nodes[index]?.range?.[0]);
    const e = (entry ?? {}) as Record<string, unknown>;
    const str = (key: string) => (typeof e[key] === 'string' && e[key].trim() ? e[key].trim() : undefined);
    const path = str('path');
    const reason = str('reason');
    if (!path || !reason) {
      result.problems.push({
        line,
        message: "every approval needs a `path` (the change's schema coordinate) and a `reason`",
      });
      return;
    }
    const type = str('type');
    const message = str('message');
    result.entries.push({ path, reason, line, ...(type ? { type } : {}), ...(message ? { message } : {}) });
  });
  return result;
}

export function findApproval(approvals: Approvals, change: SchemaChange): Approval | undefined {
  return approvals.entries.find(
    (a) =>
      a.path === change.path && (!a.type || a.type === change.type) && (!a.message || a.message === change.message),
  );
}
