import { runCli } from './main.js';

// The process around the CLI: its streams, Ctrl-C, and the exit code.
const interrupted = new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout, stderr: process.stderr, env: process.env, interrupted,
  pollMs: process.env.SLIPWAY_POLL_MS ? Number(process.env.SLIPWAY_POLL_MS) : undefined,
});
process.exit();
