import { randomBytes } from 'node:crypto';
import type { RecipeValue } from '../domain/rotation.js';
import { registerSecret } from '../redact.js';

type Generated = Omit<Extract<RecipeValue, { generate: unknown }>['generate'], 'name'>;

export function secretActivities() {
  return {
    /**
     * New random values, one per variable. They reach workflow history only as this
     * activity's result, which the payload codec encrypts.
     */
    async generateSecrets(specs: Record<string, Generated>): Promise<Record<string, string>> {
      const values = Object.fromEntries(Object.entries(specs).map(([name, { bytes, encoding }]) => [name, randomBytes(bytes).toString(encoding)]));
      Object.values(values).forEach(registerSecret);
      return values;
    },
  };
}
