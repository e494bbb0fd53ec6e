import { z } from 'zod';

/** Names that reach env files and GitHub: checked the same way in the config and in requests. */

/** An env-file variable (letters, digits and "_"). */
export const variableName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a variable name (letters, digits and "_")');

/** A GitHub Actions secret (GitHub refuses names starting with GITHUB_). */
export const githubSecretName = z.string().regex(/^(?!GITHUB_)[A-Za-z_][A-Za-z0-9_]*$/i, 'expected a GitHub secret name (letters, digits and "_", not starting with GITHUB_)');
