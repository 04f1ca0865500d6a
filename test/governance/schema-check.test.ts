import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { generate } from '@graphql-codegen/cli';
import { print } from 'graphql';
import { composeArtifacts } from '../../scripts/schema/lib/artifacts.ts';
import { clientCodegen } from '../../scripts/schema/lib/client-codegen.ts';
import { composeSupergraph } from '../../scripts/schema/lib/composition.ts';
import { parseSupergraphConfig } from '../../scripts/schema/lib/supergraph-config.ts';
import * as mobile from '../../clients/generated/mobile.ts';
import * as web from '../../clients/generated/web.ts';

/**
 * `npm run schema:check` on the real tree (it must pass) and on fixture
 * changes in a temporary git copy of the schema files and client operations,
 * committed so that HEAD is the baseline, as it is for a developer.
 */
const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');
const CHECK = join(repo, 'scripts/schema/check.ts');
const COMPOSE = join(repo, 'scripts/schema/compose.ts');

const run = (script: string, args: string[]) => {
  const result = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: repo,
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: '0' },
    timeout: 180_000,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
};

const temps: string[] = [];
after(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

function git(root: string, ...args: string[]) {
  const result = spawnSync(
    'git',
    [
      '-C',
      root,
      '-c',
      'user.name=schema-check',
      '-c',
      'user.email=schema-check@example.invalid',
      '-c',
      'commit.gpgsign=false',
      ...args,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(result.status, 0, `git ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/** A git repository holding this repo's supergraph.yaml, subgraph SDLs, generated files and client operations. */
function fixture(): {
  root: string;
  edit(path: string, change: (text: string) => string): void;
  write(path: string, text: string): void;
} {
  const root = mkdtempSync(join(tmpdir(), 'schema-check-'));
  temps.push(root);
  const config = parseSupergraphConfig(repo);
  const files = ['supergraph.yaml', 'supergraph.graphql', ...config.subgraphs.map((s) => s.file)];
  if (existsSync(join(repo, 'schema-changes.approved.yaml'))) files.push('schema-changes.approved.yaml');
  for (const file of files) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    cpSync(join(repo, file), join(root, file));
  }
  cpSync(join(repo, 'clients'), join(root, 'clients'), { recursive: true });
  // Subgraph schemas change all the time: start from a fresh composition of whatever they are now.
  compose(root);
  git(root, 'init', '-q');
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'baseline');
  const edit = (path: string, change: (text: string) => string) => {
    const before = readFileSync(join(root, path), 'utf8');
    const afterText = change(before);
    assert.notEqual(afterText, before, `fixture edit changed nothing in ${path}`);
    writeFileSync(join(root, path), afterText);
  };
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  return { root, edit, write };
}

/** What `npm run compose` writes, done in this process (the CLI itself is tested below). */
function compose(root: string) {
  const report = composeSupergraph(root, parseSupergraphConfig(root));
  assert.ok(report.supergraphSdl, `fixture does not compose: ${report.errors.map((e) => e.message).join('\n')}`);
  for (const artifact of composeArtifacts(report.supergraphSdl))
    writeFileSync(join(root, artifact.path), artifact.content);
}

/** `npm run codegen`'s client part, for a fixture. */
async function generateClients(root: string) {
  await generate(
    {
      generates: clientCodegen(root),
      cwd: root,
      silent: true,
      overwrite: true,
      pluginLoader: (name: string) => import(name),
    },
    true,
  );
}

describe('schema:check', () => {
  it('passes on the repository as it is', () => {
    const result = run(CHECK, []);
    assert.equal(result.status, 0, result.output);
    assert.match(result.output, /Schema check passed\./);
    assert.match(result.output, /the supergraph composes/);
    assert.match(result.output, /every operation is valid against the new API schema/);
    assert.match(result.output, /clients\/generated\/ is up to date/);
  });

  it('passes a safe addition, and compares with --base <ref>', () => {
    const f = fixture();
    f.edit('subgraphs/products/schema.graphql', (sdl) =>
      sdl.replace('  inStock: Boolean!\n', '  inStock: Boolean!\n  "Shipping weight in grams."\n  weightGrams: Int\n'),
    );
    const composed = run(COMPOSE, ['--root', f.root]);
    assert.equal(composed.status, 0, composed.output);
    assert.match(composed.output, /wrote supergraph\.graphql\nwrote clients\/generated\/schema\.graphql/);
    const result = run(CHECK, ['--root', f.root, '--skip-codegen']);
    assert.equal(result.status, 0, result.output);
    assert.match(result.output, /0 breaking, 0 dangerous, \d+ safe/);
    assert.match(
      result.output,
      /\+ safe\s+Product\.weightGrams — Field 'weightGrams' was added to object type 'Product'/,
    );
    assert.match(result.output, /products\s+0 breaking, 0 dangerous/);

    // Once committed, HEAD has it; --base HEAD~1 still sees the change.
    git(f.root, 'commit', '-qam', 'add weightGrams');
    const head = run(CHECK, ['--root', f.root, '--skip-codegen']);
    assert.equal(head.status, 0, head.output);
    assert.match(head.output, /0 breaking, 0 dangerous, 0 safe/);
    const base = run(CHECK, ['--root', f.root, '--skip-codegen', '--base', 'HEAD~1']);
    assert.equal(base.status, 0, base.output);
    assert.match(base.output, /Baseline: HEAD~1/);
    assert.match(base.output, /Product\.weightGrams — Field 'weightGrams' was added/);

    const unknown = run(CHECK, ['--root', f.root, '--base', 'no-such-branch']);
    assert.equal(unknown.status, 2, unknown.output);
    assert.match(unknown.output, /--base no-such-branch: not a commit/);
  });

  it('fails when a removed field is still used by a client operation, naming the operations', () => {
    const f = fixture();
    f.edit('subgraphs/products/schema.graphql', (sdl) => sdl.replace('  inStock: Boolean!\n', ''));
    compose(f.root);
    const result = run(CHECK, ['--root', f.root, '--skip-codegen']);
    assert.equal(result.status, 1, result.output);
    assert.match(
      result.output,
      /✗ BREAKING\s+Product\.inStock — Field 'inStock' was removed from object type 'Product'/,
    );
    const breaks = /breaks client operations: (.*)/.exec(result.output)?.[1] ?? '';
    for (const op of [
      'web/CatalogPage (clients/web/catalog.graphql:2)',
      'web/ProductDetail',
      'web/SearchProducts',
      'mobile/CatalogPage',
      'mobile/ProductDetail',
    ]) {
      assert.ok(breaks.includes(op), `expected ${op} among the broken operations: ${breaks}`);
    }
    assert.ok(
      !breaks.includes('web/OrderHistory') && !breaks.includes('LogIn'),
      `operations not using Product.inStock named: ${breaks}`,
    );
    // And the operations themselves no longer validate, with file and line.
    assert.match(
      result.output,
      /clients\/web\/fragments\.graphql:\d+:\d+: web\/CatalogPage: Cannot query field "inStock" on type "Product"/,
    );
    assert.match(
      result.output,
      /clients\/mobile\/catalog\.graphql:\d+:\d+: mobile\/CatalogPage: Cannot query field "inStock"/,
    );
  });

  it('fails on an unapproved breaking change no operation uses, and passes once it is approved', () => {
    const f = fixture();
    f.edit('subgraphs/products/schema.graphql', (sdl) =>
      sdl.replace(/  "Units on hand[^\n]*\n  stockLevel: Int\n/, ''),
    );
    compose(f.root);
    const refused = run(CHECK, ['--root', f.root, '--skip-codegen']);
    assert.equal(refused.status, 1, refused.output);
    assert.match(refused.output, /✗ BREAKING\s+Product\.stockLevel/);
    assert.match(refused.output, /no client operation uses it/);
    assert.match(
      refused.output,
      /breaking change Product\.stockLevel: .* not approved in schema-changes\.approved\.yaml/,
    );

    f.write(
      'schema-changes.approved.yaml',
      'approved:\n  - path: Product.stockLevel\n    type: FIELD_REMOVED\n    reason: Stock levels moved to the staff back-office API (STORE-142).\n',
    );
    const approved = run(CHECK, ['--root', f.root, '--skip-codegen']);
    assert.equal(approved.status, 0, approved.output);
    assert.match(approved.output, /approved \(schema-changes\.approved\.yaml:2\): Stock levels moved/);
  });

  it('an approval does not cover a change that breaks a client operation', () => {
    const f = fixture();
    f.edit('subgraphs/products/schema.graphql', (sdl) => sdl.replace('  sku: String!\n', '  sku: Int!\n'));
    f.write('schema-changes.approved.yaml', 'approved:\n  - path: Product.sku\n    reason: SKUs become numeric.\n');
    compose(f.root);
    const result = run(CHECK, ['--root', f.root, '--skip-codegen']);
    assert.equal(result.status, 1, result.output);
    assert.match(
      result.output,
      /✗ BREAKING\s+Product\.sku — Field 'Product\.sku' changed type from 'String!' to 'Int!'/,
    );
    assert.match(result.output, /breaks client operations: web\/ProductDetail \(clients\/web\/product\.graphql:2\)/);
    assert.match(result.output, /approval does not cover broken client operations/);
  });

  it('fails on a type change of a field clients read', () => {
    const f = fixture();
    f.edit('subgraphs/orders/schema.graphql', (sdl) => sdl.replace(/\n  version: Int\n/, '\n  version: String\n'));
    compose(f.root);
    const result = run(CHECK, ['--root', f.root, '--skip-codegen']);
    assert.equal(result.status, 1, result.output);
    assert.match(
      result.output,
      /✗ BREAKING\s+Order\.version — Field 'Order\.version' changed type from 'Int' to 'String'/,
    );
    assert.match(
      result.output,
      /breaks client operations: .*web\/OrderStatusChanged \(clients\/web\/order-status\.graphql:3\)/,
    );
    assert.match(result.output, /orders\s+1 breaking/);
  });

  it('fails on a composition conflict, naming both subgraphs and their lines', () => {
    const f = fixture();
    // Money is @shareable in products and orders: the two must agree on its fields' types.
    f.edit('subgraphs/orders/schema.graphql', (sdl) =>
      sdl.replace(/(type Money @shareable \{\n  amount: )Int!/, '$1Float!'),
    );
    const ordersLine =
      readFileSync(join(f.root, 'subgraphs/orders/schema.graphql'), 'utf8')
        .split('\n')
        .findIndex((l) => l.includes('amount: Float!')) + 1;
    const result = run(CHECK, ['--root', f.root, '--skip-codegen']);
    assert.equal(result.status, 1, result.output);
    assert.match(
      result.output,
      /error \[FIELD_TYPE_MISMATCH\] \(subgraphs: orders, products\): Type of field "Money\.amount" is incompatible/,
    );
    assert.ok(result.output.includes(`at subgraphs/orders/schema.graphql:${ordersLine}:3 (orders)`), result.output);
    assert.match(result.output, /at subgraphs\/products\/schema\.graphql:\d+:\d+ \(products\)/);
    assert.match(result.output, /orders\s+subgraphs\/orders\/schema\.graphql\s+✗ 1 error/);
    assert.match(result.output, /products\s+subgraphs\/products\/schema\.graphql\s+✗ 1 error/);

    const composed = run(COMPOSE, ['--root', f.root]);
    assert.equal(composed.status, 1, composed.output);
    assert.match(composed.output, /FIELD_TYPE_MISMATCH/);
  });

  it('fails on a subgraph SDL that does not parse, with file and line', () => {
    const f = fixture();
    f.edit('subgraphs/users/schema.graphql', (sdl) => sdl.replace('type Query {\n', 'type Query {\n  me(: User\n'));
    const line =
      readFileSync(join(f.root, 'subgraphs/users/schema.graphql'), 'utf8')
        .split('\n')
        .findIndex((l) => l.includes('me(: User')) + 1;
    const result = run(CHECK, ['--root', f.root, '--skip-codegen']);
    assert.equal(result.status, 1, result.output);
    assert.ok(result.output.includes(`at subgraphs/users/schema.graphql:${line}:`), result.output);
    assert.match(result.output, /error \[INVALID_GRAPHQL\] \(subgraphs: users\): Syntax Error/);
  });

  it('fails on an operation file that does not parse, with file and line', () => {
    const f = fixture();
    f.write('clients/web/wishlist.graphql', '# Saved for later\nquery Wishlist {\n  me {\n    id name\n  }}\n}\n');
    const result = run(CHECK, ['--root', f.root, '--skip-codegen']);
    assert.equal(result.status, 1, result.output);
    assert.match(result.output, /✗ clients\/web\/wishlist\.graphql:6:1: Syntax Error: Unexpected "}"/);
    assert.match(result.output, /client document clients\/web\/wishlist\.graphql:6:1/);
  });

  it('fails when supergraph.graphql is stale', () => {
    const f = fixture();
    f.edit('subgraphs/notifications/schema.graphql', (sdl) =>
      sdl.replace('  readAt: DateTime\n', '  readAt: DateTime\n  "Where the notification links to."\n  url: String\n'),
    );
    const result = run(CHECK, ['--root', f.root, '--skip-codegen']);
    assert.equal(result.status, 1, result.output);
    assert.match(result.output, /supergraph\.graphql is stale: run `npm run compose`/);
    assert.match(result.output, /clients\/generated\/schema\.graphql is stale: run `npm run compose`/);
    compose(f.root);
    assert.equal(run(CHECK, ['--root', f.root, '--skip-codegen']).status, 0);
  });

  it('fails when generated client code is stale', async () => {
    const f = fixture();
    await generateClients(f.root);
    f.edit('clients/mobile/notifications.graphql', (ops) =>
      ops.replace('          subject\n', '          subject\n          channel\n'),
    );
    const result = run(CHECK, ['--root', f.root]);
    assert.equal(result.status, 1, result.output);
    assert.match(result.output, /clients\/generated\/mobile\.ts is stale: run `npm run codegen`/);
    assert.match(result.output, /clients\/generated\/trusted-documents\.json is stale: run `npm run codegen`/);
    // The other app's code was regenerated from the same inputs: not stale, so the comparison is exact.
    assert.doesNotMatch(result.output, /clients\/generated\/web\.ts/);
    assert.match(result.output, /Schema check FAILED \(2 problems\)/);
  });
});

describe('trusted documents', () => {
  const manifest = JSON.parse(readFileSync(join(repo, 'clients/generated/trusted-documents.json'), 'utf8')) as Record<
    string,
    string
  >;

  it('maps the sha256 of each operation text to that text', () => {
    assert.ok(Object.keys(manifest).length > 0);
    for (const [hash, text] of Object.entries(manifest)) {
      assert.equal(createHash('sha256').update(text).digest('hex'), hash);
    }
  });

  it('holds every typed document, under the id its module exports and the hash of print(document)', () => {
    for (const module of [web, mobile] as unknown as Record<string, unknown>[]) {
      const ids = module.documentIds as Record<string, string>;
      for (const [name, id] of Object.entries(ids)) {
        const text = print(module[`${name}Document`] as Parameters<typeof print>[0]);
        assert.equal(createHash('sha256').update(text).digest('hex'), id, name);
        assert.equal(manifest[id], text, `${name} is missing from trusted-documents.json`);
      }
    }
    assert.ok('OrderStatusChanged' in web.documentIds && 'PlaceOrder' in mobile.documentIds);
  });
});
