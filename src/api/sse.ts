import type { Request, Response } from 'express';
import { redact } from '../redact.js';

type Outcome<T> = { value: T; error?: undefined } | { error: Error; value?: undefined };

/**
 * One poll of Temporal per thing watched (the board, a run), however many streams follow it:
 * it runs while someone follows, every `everyMs`, and tells each follower what it read.
 */
interface Watch {
  followers: Set<(outcome: Outcome<unknown>) => void>;
  last?: Outcome<unknown>;
  timer?: NodeJS.Timeout;
}

export class Watches {
  private readonly watches = new Map<string, Watch>();

  follow<T>(key: string, everyMs: number, read: () => Promise<T>, follower: (outcome: Outcome<T>) => void): () => void {
    let watch = this.watches.get(key);
    const tell = follower as (outcome: Outcome<unknown>) => void;
    if (!watch) {
      const started: Watch = { followers: new Set([tell]) };
      this.watches.set(key, watch = started);
      const tick = async () => {
        const outcome: Outcome<unknown> = await read().then((value) => ({ value }), (error: unknown) => ({ error: error as Error }));
        if (this.watches.get(key) !== started) return;
        started.last = outcome;
        for (const f of started.followers) f(outcome);
        started.timer = setTimeout(() => void tick(), everyMs);
      };
      void tick();
    } else {
      watch.followers.add(tell);
      // A newcomer hears what the others heard last, as soon as it has its way to stop following.
      const joined = watch;
      setImmediate(() => { if (joined.last && joined.followers.has(tell)) tell(joined.last); });
    }
    const current = watch;
    return () => {
      current.followers.delete(tell);
      if (current.followers.size || this.watches.get(key) !== current) return;
      clearTimeout(current.timer);
      this.watches.delete(key);
    };
  }
}

/**
 * A server-sent event stream (text/event-stream) of what `follow` reads, so that a browser is
 * told of changes instead of polling: an event goes out when the value (after `shape`, per
 * follower) differs from the last one sent. `done` ends the stream after its last event (a run
 * that finished). A comment every 15 s keeps proxies from closing it.
 */
export function streamChanges<T, U>(req: Request, res: Response, options: {
  event: string;
  follow: (follower: (outcome: Outcome<T>) => void) => () => void;
  shape: (value: T) => U;
  done?: (value: T) => boolean;
}): void {
  res.status(200).set({ 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  res.flushHeaders();
  let last = '';
  let closed = false;
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(keepAlive);
    stop();
  };
  const stop = options.follow((outcome) => {
    if (closed) return;
    if (outcome.error) {
      // Temporal did not answer this time: say so; the next look tries again.
      res.write(`event: problem\ndata: ${JSON.stringify({ detail: redact(outcome.error.message) })}\n\n`);
      return;
    }
    const data = JSON.stringify(options.shape(outcome.value));
    if (data !== last) {
      res.write(`event: ${options.event}\ndata: ${data}\n\n`);
      last = data;
    }
    if (options.done?.(outcome.value)) {
      close();
      res.end();
    }
  });
  req.on('close', close);
}
