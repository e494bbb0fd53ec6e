import { Context } from '@temporalio/activity';

/** Sleeps, ending early (with the cancellation) when the activity is cancelled. */
export async function pause(ms: number): Promise<void> {
  let ctx: Context | undefined;
  try {
    ctx = Context.current();
  } catch {
    ctx = undefined;
  }
  if (ctx) return ctx.sleep(ms);
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** When the first attempt of this activity was scheduled: waits are bounded from there, across retries. */
export function firstScheduledMs(): number {
  try {
    return Context.current().info.scheduledTimestampMs;
  } catch {
    return Date.now();
  }
}
