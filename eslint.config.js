// @ts-check
import tseslint from 'typescript-eslint';

/**
 * typescript-eslint's recommended type-checked rules over every TypeScript
 * file the type check covers (tsconfig.json), with type information from
 * TypeScript's project service. `npm run lint`; the test suite runs it too.
 */
export default tseslint.config(
  {
    ignores: [
      '**/node_modules/',
      '**/dist/',
      '.data/',
      '.scratch/',
      // Written by tools, checked for staleness by the tests.
      'clients/generated/',
      'subgraphs/*/src/generated/',
      'subgraphs/*/src/data/generated/',
      // Plain JavaScript (this file, test reporter, built GraphiQL bundle).
      '**/*.js',
      '**/*.mjs',
      '**/*.cjs',
    ],
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // node:test's describe/it return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after'] },
          ],
        },
      ],
      // `const { secret: _secret, ...rest } = value` is how an object sheds a key.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true, argsIgnorePattern: '^_' }],
      // Apollo plugin hooks and the store and bus ports promise a Promise: an `async` method keeps that
      // contract even when this implementation has nothing to await (and turns a throw into a rejection,
      // which callers rely on). Dropping `async` to satisfy the rule would change behaviour.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Tests read untyped JSON answers (`await response.json()`) and check them with node:assert: the
    // assertion is the type check, so these rules would only ask for casts that prove nothing.
    files: ['test/**/*.ts', '**/test/**/*.ts', 'packages/platform/src/testing/**/*.ts'],
    rules: {
      // Failure messages print whatever came back, whatever its type.
      '@typescript-eslint/no-base-to-string': 'off',
      // Test servers answer from async handlers: a rejection there is unhandled and fails the run, as it should.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
