import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '../../src/config/load.js';

/** The problems `parseConfig` names for a config it must refuse. */
export function configProblems(text: string, env: NodeJS.ProcessEnv): string[] {
  try {
    parseConfig(text, { env });
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems;
  }
  assert.fail('expected the config to be rejected');
}
