/** The process around the CLI: its streams, its environment, and Ctrl-C. */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  /** Fires on Ctrl-C: waiting stops, the run goes on. */
  interrupted: Promise<void>;
  pollMs?: number;
}

/** How a command that starts or shows a run reports it (`--wait`, `--until-decision`, `--json`). */
export interface WaitOptions { wait?: boolean; untilDecision?: boolean; json?: boolean }
