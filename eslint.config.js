// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import globals from 'globals';

const nodeModules = builtinModules.flatMap((m) => [m, `node:${m}`]);

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.slipway/**', 'src/sandbox/fakehost/**', 'scratch/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  // The operator console (console/): modules the browser runs as they are.
  { files: ['console/**/*.js'], languageOptions: { globals: globals.browser, sourceType: 'module' } },
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
    // The architecture, kept: no import circle, and a workflow's own file is imported only by
    // workflow code; the rest of Slipway knows the workflows through their contract
    // (`src/workflows/contract.ts`) and the worker's bundle path. no-cycle skips `import type`:
    // `npm run lint:cycles` (dpdm) counts those too.
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: { 'import-x/extensions': ['.ts', '.js'], 'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] }, 'import-x/resolver-next': [createTypeScriptImportResolver({ project: `${import.meta.dirname}/tsconfig.json` })] },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', {
        zones: [{
          target: ['./src/!(workflows)/**', './test/**', './scripts/**', './bench/**'],
          from: './src/workflows',
          except: ['./contract.ts'],
          message: 'Outside src/workflows/, import the workflows\' contract (src/workflows/contract.ts), not a workflow file.',
        }],
      }],
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
