import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { readSetAnswer, readShowStat, setServerState, SHOW_STAT, type ServerStat } from './haproxy.js';

/** The runtime API could not be reached or did not answer: worth another attempt. */
export class RuntimeApiUnreachable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuntimeApiUnreachable';
  }
}

/** `host:port` or `[v6]:port` as TCP; anything starting with `/` as a unix socket. */
export function runtimeApiAddress(runtimeApi: string): { socket: string } | { host: string; port: number } {
  if (runtimeApi.startsWith('/')) return { socket: runtimeApi };
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(runtimeApi);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65535) throw new Error(`runtimeApi ${JSON.stringify(runtimeApi)} is neither host:port nor a socket path`);
  return { host: match[1]!, port };
}

/** Opens a connection to the runtime API: directly, or carried by an SSH connection to the balancer's host. */
export type OpenStream = (to: { socket: string } | { host: string; port: number }) => Promise<Duplex>;

/** A TCP connection or a unix socket on this machine. */
export const directStream: OpenStream = (to) => new Promise((resolve, reject) => {
  const socket = 'socket' in to ? connect(to.socket) : connect(to.port, to.host);
  socket.once('connect', () => resolve(socket));
  socket.once('error', reject);
});

/**
 * A client of one HAProxy's runtime API (`host:port`, or a unix socket path): one command per
 * connection, as HAProxy's non-interactive mode answers and then closes. `open` reaches it
 * (through SSH to the balancer's host, for `via`); `where` names it in errors.
 */
export class HaproxyRuntimeApi {
  private readonly address: { socket: string } | { host: string; port: number };

  constructor(private readonly runtimeApi: string, private readonly open: OpenStream = directStream, private readonly where = runtimeApi, private readonly timeoutMs = 10_000) {
    this.address = runtimeApiAddress(runtimeApi);
  }

  async setState(backend: string, server: string, state: 'drain' | 'ready'): Promise<void> {
    readSetAnswer(await this.call(setServerState(backend, server, state)), backend, server);
  }

  async stats(): Promise<ServerStat[]> {
    return readShowStat(await this.call(SHOW_STAT));
  }

  /** Sends one command and reads the whole answer (HAProxy closes the connection after it). */
  private async call(command: string): Promise<string> {
    const stream = await this.open(this.address).catch((error: Error) => {
      throw new RuntimeApiUnreachable(`HAProxy's runtime API ${this.where}: ${error.message}`);
    });
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const timer = setTimeout(() => {
        stream.destroy();
        reject(new RuntimeApiUnreachable(`HAProxy's runtime API ${this.where} did not answer "${command.split(' ').slice(0, 2).join(' ')}" within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        // show stat of a large config is tens of kB; anything past this is not HAProxy.
        if (size > 8 * 1024 * 1024) {
          clearTimeout(timer);
          stream.destroy();
          reject(new RuntimeApiUnreachable(`HAProxy's runtime API ${this.where} answered more than 8 MiB`));
        } else chunks.push(chunk);
      });
      stream.once('error', (error: Error) => {
        clearTimeout(timer);
        reject(new RuntimeApiUnreachable(`HAProxy's runtime API ${this.where}: ${error.message}`));
      });
      // HAProxy closes its side after the answer. Through SSH, the channel closes only once
      // both sides have: so the answer is complete at the end of HAProxy's side, and ours follows.
      const finish = () => {
        clearTimeout(timer);
        stream.end();
        // HAProxy answers every command with at least an empty line: nothing at all is a
        // connection dropped before it answered (a `set server` may not have been applied).
        if (!size) reject(new RuntimeApiUnreachable(`HAProxy's runtime API ${this.where} closed the connection without answering "${command.split(' ').slice(0, 2).join(' ')}"`));
        else resolve(Buffer.concat(chunks).toString('utf8'));
      };
      stream.once('end', finish);
      stream.once('close', finish);
      stream.write(`${command}\n`);
    });
  }
}
