import type { ServiceConfig } from './schema.js';

/** The names an `env-secret` rotation writes: its variables, and the GitHub secrets it sets from them. */
export interface EnvSecretNames {
  variables: Record<string, unknown>;
  githubSecrets?: Record<string, string> | undefined;
}

/**
 * What an `env-secret` rotation may not write, each with why: anything its service's
 * `rotatable` does not name, and an image variable whatever it names (a deploy writes those).
 * So a `rotate:` token can neither point the service at another image or database nor set a
 * GitHub secret of another environment. The API refuses these (`403`), and so does a
 * scheduled rotation when it is queued, against the config of that moment.
 */
export function rotatableRefusals(serviceName: string, service: ServiceConfig, names: EnvSecretNames): Array<{ field: string; message: string }> {
  const where = `services.${serviceName}.rotatable`;
  if (!service.rotatable) return [{ field: 'variables', message: `${where} is not configured: env-secret rotations of ${serviceName} are refused` }];
  const { variables, githubSecrets } = service.rotatable;
  const imageVars = service.runtime.kind === 'compose' ? service.runtime.imageVars : {};
  const refused: Array<{ field: string; message: string }> = [];
  for (const name of Object.keys(names.variables)) {
    if (Object.hasOwn(imageVars, name)) refused.push({ field: `variables.${name}`, message: 'an image variable: a deploy writes it, never a rotation' });
    else if (!variables.includes(name)) refused.push({ field: `variables.${name}`, message: `not in ${where}.variables` });
  }
  for (const [variable, secret] of Object.entries(names.githubSecrets ?? {})) {
    if (!githubSecrets.includes(secret)) refused.push({ field: `githubSecrets.${variable}`, message: `${secret} is not in ${where}.githubSecrets` });
  }
  return refused;
}
