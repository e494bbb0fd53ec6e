import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, loadConfigFile } from '../config/load.js';
import type { SlipwayConfig } from '../config/schema.js';
import { DEFAULT_UI_URL } from '../domain/links.js';

/** `SLIPWAY_CONFIG`, else `./slipway.yaml`; undefined when neither exists. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.SLIPWAY_CONFIG) return resolve(env.SLIPWAY_CONFIG);
  const local = resolve('slipway.yaml');
  return existsSync(local) ? local : undefined;
}

/** Loads the config or ends the process with every problem listed (never a secret value). */
export function loadConfigOrExit(path: string | undefined): SlipwayConfig {
  if (!path) {
    console.error('slipway: no config: create ./slipway.yaml or set SLIPWAY_CONFIG (see README)');
    process.exit(2);
  }
  if (!existsSync(path)) {
    console.error(`slipway: config file ${path} does not exist`);
    process.exit(2);
  }
  try {
    return loadConfigFile(path);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`slipway: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
}

/** The Temporal UI that runs' `links.ui` open: `SLIPWAY_TEMPORAL_UI_URL`, else the dev server's. */
export function temporalUiUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.SLIPWAY_TEMPORAL_UI_URL ?? DEFAULT_UI_URL;
}
