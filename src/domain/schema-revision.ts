/**
 * Schema revisions (docs/configuration.md, `runtime.migrate.revision`): what a release's
 * migrations left the database at, read from the operator's `revision` command. A revision
 * comes from a host's output and goes into a later `downgrade` command: it must look like one.
 */
const REVISION = /^[A-Za-z0-9][A-Za-z0-9_.:+@-]{0,127}$/;

export class RevisionOutputError extends Error {}

/** The first word of the last non-empty line of `stdout` (`alembic current`: `ae1027a6acf (head)`). */
export function readRevision(stdout: string): string {
  const line = stdout.split('\n').map((l) => l.trim()).filter(Boolean).at(-1);
  if (!line) throw new RevisionOutputError('printed no revision');
  const word = line.split(/\s+/)[0]!;
  if (!REVISION.test(word)) throw new RevisionOutputError(`printed ${JSON.stringify(word.slice(0, 80))}, which does not look like a revision (letters, digits, "_", ".", ":", "+", "@", "-")`);
  return word;
}

/**
 * The revision a rollback to `release` must take the schema down to first: its own, when the
 * schema is at another one. Undefined when either is unknown (a release from before
 * `revision` was configured) or they are the same.
 */
export function downgradeTarget(schema: string | undefined, release: { revision?: string | undefined }): string | undefined {
  return schema && release.revision && schema !== release.revision ? release.revision : undefined;
}
