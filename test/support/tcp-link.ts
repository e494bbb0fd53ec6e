import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export interface TcpLink {
  /** `127.0.0.1:<port>`: where to connect instead of the target. */
  address: string;
  /** From now on every connection is dropped at once, as a balancer that went away. */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

/** A TCP relay to `host:port` that a test can cut and restore: a link to a service that fails and comes back. */
export async function startTcpLink(host: string, port: number): Promise<TcpLink> {
  let cut = false;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    if (cut) { client.destroy(); return; }
    const upstream = connect(port, host);
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const close = () => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream); };
    for (const socket of [client, upstream]) { socket.on('error', close); socket.on('close', close); }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    cut() {
      cut = true;
      for (const socket of sockets) socket.destroy();
    },
    restore() { cut = false; },
    close: () => new Promise<void>((r) => { for (const socket of sockets) socket.destroy(); server.close(() => r()); }),
  };
}
