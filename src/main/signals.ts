import { logger } from './logger.js';

/**
 * SIGINT and SIGTERM often come twice: from the terminal or service manager to the whole
 * process group, and again relayed by the `npm`/`tsx` wrapper. Temporal's runtime starts the
 * worker's graceful shutdown on the first and then drops its handler; without this one, the
 * second would kill the process while its steps drain.
 */
export function onStopSignal(stop: (signal: NodeJS.Signals) => void): void {
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return logger.info({ signal }, 'already stopping');
      stopping = true;
      stop(signal);
    });
  }
}
