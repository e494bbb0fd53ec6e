import type { Request, Response } from 'express';
import { redact } from '../redact.js';

/**
 * A server-sent event stream (text/event-stream) that the API fills by looking at Temporal
 * itself, so that a browser is told of changes instead of polling: `read` answers the current
 * state; an event goes out when it differs from the last one sent. `done` ends the stream
 * after its last event (a run that finished). A comment every 15 s keeps proxies from closing it.
 */
export function streamChanges<T>(req: Request, res: Response, options: { event: string; everyMs: number; read: () => Promise<T>; done?: (value: T) => boolean }): void {
  res.status(200).set({ 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  res.flushHeaders();
  let last = '';
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  const close = () => {
    closed = true;
    clearTimeout(timer);
    clearInterval(keepAlive);
  };
  req.on('close', close);
  const tick = async () => {
    try {
      const value = await options.read();
      const data = JSON.stringify(value);
      if (closed) return;
      if (data !== last) {
        res.write(`event: ${options.event}\ndata: ${data}\n\n`);
        last = data;
      }
      if (options.done?.(value)) {
        close();
        res.end();
        return;
      }
    } catch (error) {
      if (closed) return;
      // Temporal did not answer this time: say so, and try again.
      res.write(`event: problem\ndata: ${JSON.stringify({ detail: redact((error as Error).message) })}\n\n`);
    }
    timer = setTimeout(() => void tick(), options.everyMs);
  };
  void tick();
}
