import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';

/**
 * Each workspace package is used only through what its package.json
 * exports, and the gateway's rooms only through their index.ts.
 *
 * Why a scan and not just the type check: with NodeNext resolution `tsc`
 * refuses a bare specifier the exports map lacks, but only in the files its
 * tsconfig includes, and it happily follows a relative path into another
 * package's src/ (`../../gateway/src/config.ts`). This reads every tracked
 * module with TypeScript's own import scanner (the one tsc uses) and checks
 * both, naming the file, the specifier and what the package does export.
 */
const root = resolve(import.meta.dirname, '../..');
const CODE = /\.(ts|mts|cts|mjs|cjs|js)$/;

interface Workspace {
  name: string;
  dir: string;
  exports: Record<string, string>;
}

const workspaces: Workspace[] = (
  JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] }
).workspaces.map((dir) => {
  const manifest = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as {
    name: string;
    exports?: Record<string, string>;
  };
  return { name: manifest.name, dir: join(root, dir), exports: manifest.exports ?? {} };
});

const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
  cwd: root,
  encoding: 'utf8',
})
  .split('\n')
  .filter((file) => CODE.test(file) && !file.endsWith('.d.ts') && existsSync(join(root, file)));

function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  return ts.preProcessFile(text, true, true).importedFiles.map((ref) => ref.fileName);
}

const inside = (dir: string, path: string) => path === dir || path.startsWith(dir + sep);
const workspaceOf = (path: string) => workspaces.find((w) => inside(w.dir, path));

describe('package boundaries', () => {
  it('workspace packages export named subpaths only, each to a file that exists', () => {
    for (const workspace of workspaces) {
      for (const [subpath, target] of Object.entries(workspace.exports)) {
        assert.ok(!subpath.includes('*'), `${workspace.name}: "${subpath}" exports a pattern; name each subpath`);
        assert.ok(
          existsSync(join(workspace.dir, target)),
          `${workspace.name}: "${subpath}" points at ${target}, which does not exist`,
        );
      }
    }
  });

  it('no module imports a path a workspace package does not export', () => {
    const problems: string[] = [];
    for (const file of files) {
      const from = join(root, file);
      for (const specifier of importsOf(file)) {
        if (specifier.startsWith('.')) {
          // A relative path into another package's folder bypasses its exports.
          const target = workspaceOf(resolve(dirname(from), specifier));
          if (target && target !== workspaceOf(from))
            problems.push(`${file}: "${specifier}" reaches into ${target.name}; import what it exports instead`);
          continue;
        }
        const workspace = workspaces.find((w) => specifier === w.name || specifier.startsWith(`${w.name}/`));
        if (!workspace) continue;
        const subpath = `.${specifier.slice(workspace.name.length)}`;
        if (!(subpath in workspace.exports))
          problems.push(
            `${file}: "${specifier}" is not exported by ${workspace.name} (it exports ${Object.keys(workspace.exports)
              .map((key) => `"${join(workspace.name, key)}"`)
              .join(', ')})`,
          );
      }
    }
    assert.deepEqual(problems, []);
  });

  it('test helpers are imported by tests only', () => {
    const problems = files
      .filter((file) => /\/src\//.test(file) && !/\/test\//.test(file))
      .flatMap((file) =>
        importsOf(file)
          .filter((specifier) => specifier.endsWith('/testing'))
          .map((specifier) => `${file}: "${specifier}"`),
      );
    assert.deepEqual(problems, []);
  });

  it('no module imports itself back through others (type-only imports count too)', () => {
    const graph = new Map<string, string[]>();
    for (const file of files.filter((f) => /^(packages\/[^/]+|gateway|subgraphs\/[^/]+)\/src\//.test(f))) {
      const from = join(root, file);
      const local = importsOf(file).filter((s) => s.startsWith('.'));
      graph.set(
        file,
        local.map((s) => relative(root, resolve(dirname(from), s))),
      );
    }
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const path: string[] = [];
    const visit = (file: string) => {
      state.set(file, 'open');
      path.push(file);
      for (const next of graph.get(file) ?? []) {
        if (state.get(next) === 'open') cycles.push([...path.slice(path.indexOf(next)), next].join(' → '));
        else if (!state.has(next)) visit(next);
      }
      path.pop();
      state.set(file, 'done');
    };
    for (const file of graph.keys()) if (!state.has(file)) visit(file);
    assert.deepEqual(cycles, []);
  });

  it("the gateway's rooms reach one another only through their index.ts", () => {
    const src = join(root, 'gateway/src');
    const roomOf = (path: string) => {
      const rest = relative(src, path).split(sep);
      return rest.length > 1 ? rest[0] : undefined;
    };
    const problems: string[] = [];
    for (const file of files.filter((f) => f.startsWith('gateway/src/'))) {
      const from = join(root, file);
      for (const specifier of importsOf(file).filter((s) => s.startsWith('.'))) {
        const target = resolve(dirname(from), specifier);
        const room = roomOf(target);
        if (!room || room === roomOf(from)) continue;
        if (target !== join(src, room, 'index.ts'))
          problems.push(`${file}: "${specifier}" goes past ${room}/index.ts, the room's public face`);
      }
    }
    assert.deepEqual(problems, []);
  });
});
