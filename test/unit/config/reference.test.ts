import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { configSchema } from '../../../src/config/schema.js';

/**
 * docs/configuration.md is the reference of `slipway.yaml`: every key the schema accepts has a
 * row there, and every row names a key the schema accepts, so neither can drift from the other.
 */
const DOC = join(import.meta.dirname, '..', '..', '..', 'docs', 'configuration.md');

interface JsonSchema {
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
}

/** Every key path the schema accepts: `services.*.environments.*.targets[].name`. */
function schemaKeys(): Set<string> {
  const keys = new Set<string>();
  const walk = (schema: JsonSchema | boolean | undefined, path: string) => {
    if (!schema || typeof schema !== 'object') return;
    for (const branch of [...schema.anyOf ?? [], ...schema.oneOf ?? [], ...schema.allOf ?? []]) walk(branch, path);
    for (const [key, value] of Object.entries(schema.properties ?? {})) {
      const child = path ? `${path}.${key}` : key;
      keys.add(child);
      walk(value, child);
    }
    walk(schema.additionalProperties, `${path}.*`);
    walk(schema.items, `${path}[]`);
  };
  walk(z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema, '');
  return keys;
}

/** The key of each table row (its first cell), with `<service>` and the like as `*`. */
function documentedKeys(): Set<string> {
  const rows = readFileSync(DOC, 'utf8').matchAll(/^\| `([^`]+)` \|/gm);
  return new Set([...rows].map(([, key]) => key!.replace(/<[^>]+>/g, '*')));
}

describe('docs/configuration.md, the config reference', () => {
  const inSchema = schemaKeys();
  const inDoc = documentedKeys();

  it('documents every key the schema accepts', () => {
    assert.ok(inSchema.size > 100, `the schema's keys were read (${inSchema.size})`);
    assert.deepEqual([...inSchema].filter((key) => !inDoc.has(key)), []);
  });

  it('documents no key the schema does not accept', () => {
    assert.deepEqual([...inDoc].filter((key) => !inSchema.has(key)), []);
  });
});
