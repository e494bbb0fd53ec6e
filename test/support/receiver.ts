import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The token the receiver takes, as Gitea's API takes `Authorization: token …`. */
export const GITEA_TOKEN = 'gitea-token-5e1f0c';

export interface ReceivedCall {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** When it arrived (ms since the epoch). */
  at: number;
}

/**
 * A real HTTP server standing in for another system a recipe calls (Gitea's webhook API): it
 * records every call and answers with the statuses the test queues (200 once none are left),
 * or 401 for a call without the token.
 */
export interface Receiver {
  url: string;
  calls: ReceivedCall[];
  /** Statuses for the next calls, in order. */
  answers: number[];
  stop(): Promise<void>;
}

/** `token: null`: a receiver that takes any call (a notification hook). */
export async function startReceiver({ token = GITEA_TOKEN }: { token?: string | null } = {}): Promise<Receiver> {
  const calls: ReceivedCall[] = [];
  const answers: number[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => { body += chunk.toString(); });
    req.on('end', () => {
      calls.push({ method: req.method!, url: req.url!, headers: req.headers, body, at: Date.now() });
      const status = token === null || req.headers.authorization === `token ${token}` ? answers.shift() ?? 200 : 401;
      res.writeHead(status, { 'content-type': 'application/json' }).end('{"message":"an echo of what was sent would go here"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls, answers,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
