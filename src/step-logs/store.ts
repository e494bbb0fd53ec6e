import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { SlipwayConfig } from '../config/schema.js';
import { z } from 'zod';
import { redact } from '../redact.js';
import type { StepLogRef } from '../domain/run.js';

/**
 * What each runbook step on a target did, for `GET /v1/deployments/:id/targets/:target`: its
 * label, start, duration, exit code and the last lines of its output. The output stays out of
 * workflow history (at 1,000 targets it would swell every run's history); the worker writes
 * it here as the step runs and the API reads it back.
 *
 *   <dir>/<run>/<target>/<start ms>-<random>.json    one step attempt, replaced by rename
 *
 * Output is redacted before it is written. Runs older than `keepMs` are removed by the worker.
 * The API and every worker must see the same directory, as with the credential store.
 */

/** The lines of output kept per step. */
export const OUTPUT_LINES = 64;
const KEEP_CHARS = 64 * 1024;

/** Which target's log a step belongs to; deploy steps and the rollback's are told apart. */

export const stepRecordSchema = z.strictObject({
  phase: z.enum(['deploy', 'rollback']),
  label: z.string(),
  /** The activity's attempt: a retried step shows each attempt. */
  attempt: z.number().int().positive(),
  status: z.enum(['running', 'succeeded', 'failed']),
  startedAt: z.string(),
  durationMs: z.number().int().nonnegative().optional(),
  /** The command's exit code; null when it was killed or its connection dropped. */
  exitCode: z.number().int().nullable().optional(),
  output: z.array(z.string()),
});
export type StepRecord = z.output<typeof stepRecordSchema>;

// File names from run and target ids, which may hold "/" or "#".
const fileName = (id: string) => encodeURIComponent(id).replace(/\./g, '%2E');

/** The store `stepLogs` configures; the worker writes it, the API reads it. */
export function stepLogStore(config: SlipwayConfig, env: NodeJS.ProcessEnv = process.env): StepLogStore {
  return new StepLogStore(config.stepLogs.dir ?? resolve(env.SLIPWAY_HOME ?? '.slipway', 'step-logs'), config.stepLogs.keep);
}

export class StepLogStore {
  constructor(readonly dir: string, readonly keepMs: number) {}

  private targetDir(run: string, target: string): string {
    return join(this.dir, fileName(run), fileName(target));
  }

  /** Starts a step's record; the writer keeps it up to date until the step ends. */
  begin(ref: StepLogRef, label: string, attempt: number): StepLogWriter {
    const dir = this.targetDir(ref.run, ref.target);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch {
      // Not writable: the writer's flushes fail quietly, and the step runs without a log.
    }
    const started = Date.now();
    const path = join(dir, `${String(started).padStart(15, '0')}-${randomBytes(4).toString('hex')}.json`);
    return new StepLogWriter(path, { phase: ref.phase, label: redact(label), attempt, status: 'running', startedAt: new Date(started).toISOString(), output: [] });
  }

  /** A target's steps, oldest first; empty when it has none (yet, or any more). */
  read(run: string, target: string): StepRecord[] {
    const dir = this.targetDir(run, target);
    let files: string[];
    try {
      files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
    } catch {
      return [];
    }
    return files.flatMap((file) => {
      try {
        return [stepRecordSchema.parse(JSON.parse(readFileSync(join(dir, file), 'utf8')))];
      } catch {
        return []; // removed by the retention sweep in between, or not written by Slipway
      }
    });
  }

  /** The step running on a target now, as a label (a rollback's marked so), if any. */
  runningStep(run: string, target: string): string | undefined {
    const last = this.read(run, target).at(-1);
    if (last?.status !== 'running') return undefined;
    return last.phase === 'rollback' ? `rollback: ${last.label}` : last.label;
  }

  /**
   * Removes the logs of runs last written more than `keepMs` ago; answers how many runs went.
   * Only what the store wrote goes: step files by their name, then the directories they leave
   * empty. Anything else in `dir` stays, whoever put it there.
   */
  prune(now = Date.now()): number {
    let removed = 0;
    let runs: string[];
    try {
      runs = readdirSync(this.dir);
    } catch {
      return 0;
    }
    for (const run of runs) {
      const path = join(this.dir, run);
      try {
        if (!statSync(path).isDirectory() || now - newestWrite(path) <= this.keepMs) continue;
        let steps = 0;
        for (const target of readdirSync(path)) {
          const targetDir = join(path, target);
          if (!statSync(targetDir).isDirectory()) continue;
          for (const file of readdirSync(targetDir)) {
            if (!STEP_FILE.test(file)) continue;
            rmSync(join(targetDir, file), { force: true });
            steps++;
          }
          removeIfEmpty(targetDir);
        }
        removeIfEmpty(path);
        if (steps) removed++;
      } catch {
        // gone already
      }
    }
    return removed;
  }
}

/** The name of a step's file as `begin` makes it: its start, zero-padded, and a random suffix. */
const STEP_FILE = /^\d{15}-[0-9a-f]{8}\.json$/;

function removeIfEmpty(dir: string): void {
  if (!readdirSync(dir).length) rmSync(dir, { recursive: true, force: true });
}

/** The last write under a run's directory (a run's newest step may be days after its first). */
function newestWrite(runDir: string): number {
  let newest = statSync(runDir).mtimeMs;
  for (const target of readdirSync(runDir)) newest = Math.max(newest, statSync(join(runDir, target)).mtimeMs);
  return newest;
}

/** Keeps one step's record on disk: written at the start, as output comes, and at the end. */
export class StepLogWriter {
  private output = '';
  private written = '';

  constructor(private readonly path: string, private readonly record: StepRecord) {
    this.flush();
  }

  /** Output so far (both streams, as they came); written out by `flush`. */
  append(chunk: string): void {
    this.output += chunk;
    // Enough to hold the last lines even when they are long, never the whole output. The cut
    // line goes whole: half a secret would not be recognised by the redactor.
    if (this.output.length <= KEEP_CHARS) return;
    const cut = this.output.indexOf('\n', this.output.length - KEEP_CHARS);
    this.output = cut === -1 ? this.output.slice(-KEEP_CHARS) : this.output.slice(cut + 1);
  }

  /** Also a line of Slipway's own, for steps that are not one command (a pin, a health check). */
  note(line: string): void {
    this.append(`${line}\n`);
  }

  /** A command of the step exited: the step's exit code is its last command's. */
  exited(exitCode: number | null): void {
    this.record.exitCode = exitCode;
  }

  end(ok: boolean): void {
    this.record.status = ok ? 'succeeded' : 'failed';
    this.record.durationMs = Date.now() - Date.parse(this.record.startedAt);
    this.flush();
  }

  /** Writes the record when it changed; a failure to write never fails the step. */
  flush(): void {
    this.record.output = this.output ? redact(this.output).trimEnd().split('\n').slice(-OUTPUT_LINES) : [];
    const text = JSON.stringify(this.record);
    if (text === this.written) return;
    try {
      const temp = `${this.path}.${process.pid}.tmp`;
      writeFileSync(temp, text, { mode: 0o600 });
      renameSync(temp, this.path);
      this.written = text;
    } catch {
      // A full disk or a removed directory costs the log, not the deploy.
    }
  }
}
