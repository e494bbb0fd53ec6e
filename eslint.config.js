// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeModules = builtinModules.flatMap((m) => [m, `node:${m}`]);

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.slipway/**', 'src/sandbox/fakehost/**', 'scratch/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node modules, and
    // activities only as types (their implementations run on the worker, not here).
    files: ['src/workflows/**/*.ts', 'src/domain/**/*.ts', 'src/commands/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: nodeModules.map((name) => ({ name, message: 'Workflow code may not import Node modules.' })),
        patterns: [
          { group: ['**/activities/*', '**/activities'], allowTypeImports: true, message: 'Import activities with `import type` only.' },
          { regex: '^(?!@temporalio/workflow$|\\.{1,2}/)', allowTypeImports: true, message: 'Workflow code imports only @temporalio/workflow and pure local modules.' },
        ],
      }],
    },
  },
);
