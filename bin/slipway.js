#!/usr/bin/env node
/* global URL */
// `slipway`: in a checkout (npx slipway) the TypeScript source runs through tsx; an installed
// package without tsx runs the build (`npm run build` makes dist/).
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/bin.ts', import.meta.url);
let tsx;
try {
  tsx = await import('tsx/esm/api');
} catch {
  tsx = undefined;
}
if (tsx && existsSync(source)) {
  tsx.register();
  await import(source.href);
} else {
  await import(new URL('../dist/cli/bin.js', import.meta.url).href);
}
