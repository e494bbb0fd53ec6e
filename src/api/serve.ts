import { createServer, type RequestListener, type Server } from 'node:http';

/**
 * How long an idle keep-alive connection may wait for its next request.
 *
 * Clients drop an idle connection shortly before the timeout the server advertises (undici's
 * fetch 2 s before, Node's agent 1 s before), but a client whose event loop is busy can still
 * send on a connection it believes alive after the server has closed it, and that request fails
 * with `fetch failed` (nodejs/undici#3141). So the server advertises one timeout and closes
 * idle connections only well after it, the buffer that Node 24 added as `keepAliveTimeoutBuffer`.
 */
export interface KeepAlive { advertisedSeconds: number; closeAfterMs: number }

export const KEEP_ALIVE: KeepAlive = { advertisedSeconds: 5, closeAfterMs: 65_000 };

export function serveApi(app: RequestListener, options: { port: number; host: string; keepAlive?: KeepAlive }): Promise<Server> {
  const keepAlive = options.keepAlive ?? KEEP_ALIVE;
  const server = createServer(app);
  server.keepAliveTimeout = keepAlive.closeAfterMs;
  // Node waits this long for a request's headers, counted from the moment the idle connection
  // receives its first byte; it must outlast the idle close, as Node's docs ask.
  server.headersTimeout = keepAlive.closeAfterMs + 1_000;
  // A Keep-Alive header set by the application replaces the one Node would derive from
  // keepAliveTimeout, so clients are told the shorter timeout.
  server.prependListener('request', (_request, response) => { response.setHeader('Keep-Alive', `timeout=${keepAlive.advertisedSeconds}`); });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => { server.off('error', reject); resolve(server); });
  });
}
