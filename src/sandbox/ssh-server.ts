import { spawn } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import ssh2, { type Connection, type ServerChannel } from 'ssh2';
import { fakeHostEnv, type FleetHost } from './fleet.js';

const { Server, utils } = ssh2;

/**
 * A fake host served by ssh2's `Server`: runs each `exec` with `sh -c` in the host's state
 * directory and environment. Demo mode uses it (no OpenSSH needed); tests use its `fault`
 * to make a host hang or drop connections.
 */
export type HostFault = 'none' | 'hang' | 'drop-after-auth';

export interface SandboxSshHost {
  host: FleetHost;
  fault: HostFault;
  close(): Promise<void>;
}

export async function startSandboxSshHost(host: FleetHost, authorizedKey: string): Promise<SandboxSshHost> {
  const allowed = utils.parseKey(authorizedKey);
  if (allowed instanceof Error) throw allowed;
  const state: SandboxSshHost = { host, fault: 'none', close: async () => undefined };
  const connections = new Set<Connection>();

  const server = new Server({ hostKeys: [host.hostKey.private] }, (client) => {
    connections.add(client);
    client.on('close', () => connections.delete(client));
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey' || ctx.username !== host.user || ctx.key.algo !== allowed.type
        || ctx.key.data.length !== allowed.getPublicSSH().length || !timingSafeEqual(ctx.key.data, allowed.getPublicSSH())) {
        return ctx.reject(['publickey']);
      }
      if (ctx.signature && ctx.blob && allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject(['publickey']);
      ctx.accept();
    });
    client.on('ready', () => {
      if (state.fault === 'drop-after-auth') {
        client.end();
        return;
      }
      client.on('session', (accept) => {
        const session = accept();
        session.on('exec', (acceptExec, _reject, info) => {
          const channel: ServerChannel = acceptExec();
          if (state.fault === 'hang') return; // never answers: the client's timeouts must act
          // Its own session and process group, as sshd gives every command.
          const child = spawn('sh', ['-c', info.command], {
            detached: true,
            cwd: host.stateDir,
            env: { ...fakeHostEnv(host), HOME: host.stateDir, USER: host.user, LANG: 'C.UTF-8' },
          });
          channel.pipe(child.stdin);
          child.stdout.pipe(channel, { end: false });
          child.stderr.pipe(channel.stderr, { end: false });
          channel.on('signal', () => child.kill('SIGKILL'));
          channel.on('close', () => { if (child.exitCode === null) child.kill('SIGKILL'); });
          child.on('close', (code, signal) => {
            if (signal) channel.exit(signal.replace(/^SIG/, ''), false, '');
            else channel.exit(code ?? 1);
            channel.end();
          });
        });
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(host.port, host.address, () => resolve());
  });
  state.close = () => new Promise<void>((resolve) => {
    for (const c of connections) c.end();
    server.close(() => resolve());
  });
  return state;
}
