import { parse } from 'csv-parse/sync';
import { z } from 'zod';

/**
 * HAProxy's runtime API (the `stats socket … level admin`), as data: the commands Slipway
 * sends, one per connection, and strict readings of the answers. Read against HAProxy 2.6
 * (Debian 12); the CSV of `show stat` is HAProxy's documented format (management guide, 9.1).
 */

/**
 * A backend or server name as HAProxy allows them. Anything else is refused before it is
 * sent: the runtime API runs `;`-separated commands, so a name must never carry one.
 */
const NAME = /^[A-Za-z0-9_.:-]{1,128}$/;

export class HaproxyAnswerError extends Error {
  constructor(readonly kind: 'unknown-backend' | 'unknown-server' | 'refused' | 'invalid', message: string) {
    super(message);
    this.name = 'HaproxyAnswerError';
  }
}

function checkName(what: 'backend' | 'server', name: string): string {
  if (!NAME.test(name)) throw new HaproxyAnswerError('invalid', `HAProxy ${what} name ${JSON.stringify(name)} is not one HAProxy allows (letters, digits, "_", ".", ":", "-")`);
  return name;
}

/** `drain`: no new connection goes to the server, those open finish; `ready`: back in rotation. */
export function setServerState(backend: string, server: string, state: 'drain' | 'ready'): string {
  return `set server ${checkName('backend', backend)}/${checkName('server', server)} state ${state}`;
}

export const SHOW_STAT = 'show stat';

/** The answer to a `set server`: nothing on success, HAProxy's own words otherwise. */
export function readSetAnswer(answer: string, backend: string, server: string): void {
  const said = answer.trim();
  if (!said) return;
  if (said === 'No such backend.') throw new HaproxyAnswerError('unknown-backend', `HAProxy has no backend ${JSON.stringify(backend)}`);
  if (said === 'No such server.') throw new HaproxyAnswerError('unknown-server', `HAProxy's backend ${JSON.stringify(backend)} has no server ${JSON.stringify(server)}`);
  throw new HaproxyAnswerError('refused', `HAProxy refused to change ${backend}/${server}: ${said.slice(0, 200)}`);
}

export interface ServerStat {
  backend: string;
  server: string;
  /** `UP`, `DOWN`, `DRAIN`, `MAINT`, `NOLB`, `no check`, or a transition (`UP 1/3`). */
  status: string;
  /** Sessions open on it now (`scur`). */
  sessions: number;
}

const count = z.string().regex(/^\d+$/, 'expected a count').transform(Number);
const statRow = z.object({ pxname: z.string().min(1), svname: z.string().min(1), scur: count, status: z.string().min(1) });

/**
 * Every server row of `show stat` (not the FRONTEND and BACKEND rows). Throws on anything but
 * HAProxy's CSV, whose fields are quoted when they hold a comma (a check's reason can).
 */
export function readShowStat(answer: string): ServerStat[] {
  if (!answer.startsWith('# ')) throw new HaproxyAnswerError('invalid', `HAProxy's show stat did not start with its CSV header: ${JSON.stringify(answer.split('\n')[0]!.slice(0, 80))}`);
  let rows: Array<Record<string, string>>;
  try {
    rows = parse(answer.slice(2), { columns: true, skip_empty_lines: true }) as Array<Record<string, string>>;
  } catch (error) {
    throw new HaproxyAnswerError('invalid', `HAProxy's show stat is not CSV: ${(error as Error).message}`);
  }
  return rows.flatMap((row, i) => {
    if (row.svname === 'FRONTEND' || row.svname === 'BACKEND') return [];
    const parsed = statRow.safeParse(row);
    if (!parsed.success) throw new HaproxyAnswerError('invalid', `HAProxy's show stat line ${i + 2}: ${parsed.error.issues.map((issue) => `${String(issue.path[0])}: ${issue.message}`).join('; ')}`);
    return [{ backend: parsed.data.pxname, server: parsed.data.svname, status: parsed.data.status, sessions: parsed.data.scur }];
  });
}

/** One server's row; throws naming what HAProxy does not have. */
export function serverStat(stats: ServerStat[], backend: string, server: string): ServerStat {
  const servers = stats.filter((s) => s.backend === backend);
  if (!servers.length) throw new HaproxyAnswerError('unknown-backend', `HAProxy has no backend ${JSON.stringify(backend)} with servers`);
  const found = servers.find((s) => s.server === server);
  if (!found) throw new HaproxyAnswerError('unknown-server', `HAProxy's backend ${JSON.stringify(backend)} has no server ${JSON.stringify(server)} (it has ${servers.map((s) => s.server).join(', ')})`);
  return found;
}

/** Servers of a backend that take new requests now: up, and neither drained nor in maintenance. */
export function servingServers(stats: ServerStat[], backend: string): string[] {
  return stats.filter((s) => s.backend === backend && /^(UP|no check)\b/.test(s.status)).map((s) => s.server);
}
