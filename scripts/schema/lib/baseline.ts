import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What the new schemas are compared with: files as they are at a git ref
 * (`--base origin/main` in CI; HEAD by default, i.e. "what is committed"),
 * or the working tree's files when the directory is not a git checkout.
 */
export interface Baseline {
  /** How the report names it, e.g. `origin/main` or `working tree`. */
  label: string;
  /** The git ref, when it is one. */
  ref?: string;
  /** A file's text at the baseline, or undefined when it does not exist there. */
  read(path: string): string | undefined;
}

export class BaselineError extends Error {
  override name = 'BaselineError';
}

const git = (root: string, args: string[]) =>
  spawnSync('git', ['-C', root, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });

export function isGitCheckout(root: string): boolean {
  const result = git(root, ['rev-parse', '--is-inside-work-tree']);
  return result.status === 0 && result.stdout.trim() === 'true';
}

export function gitBaseline(root: string, ref: string): Baseline {
  const verified = git(root, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  if (verified.status !== 0) {
    throw new BaselineError(
      `--base ${ref}: not a commit in this repository (in CI, fetch it first: git fetch origin main)`,
    );
  }
  // `git show <ref>:<path>` resolves paths from the repository's top level, not from `root`.
  const prefix = git(root, ['rev-parse', '--show-prefix']).stdout.trim();
  return {
    label: ref,
    ref,
    read: (path) => {
      const shown = git(root, ['show', `${ref}:${prefix}${path}`]);
      return shown.status === 0 ? shown.stdout : undefined;
    },
  };
}

export function workingTreeBaseline(root: string): Baseline {
  return {
    label: 'working tree',
    read: (path) => (existsSync(join(root, path)) ? readFileSync(join(root, path), 'utf8') : undefined),
  };
}

/** `--base <ref>` when given; else HEAD in a git checkout with commits; else the working tree. */
export function resolveBaseline(root: string, base: string | undefined): Baseline {
  if (base) {
    if (!isGitCheckout(root)) throw new BaselineError(`--base ${base}: ${root} is not a git checkout`);
    return gitBaseline(root, base);
  }
  if (isGitCheckout(root) && git(root, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']).status === 0) {
    return gitBaseline(root, 'HEAD');
  }
  return workingTreeBaseline(root);
}
