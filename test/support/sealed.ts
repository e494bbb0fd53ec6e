import { checkAnswer } from './contract.js';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Client } from '@temporalio/client';
import { createApi } from '../../src/api/app.js';
import { serveApi } from '../../src/api/serve.js';
import { dataConverterFor } from '../../src/codec/data-converter.js';
import { parseConfig } from '../../src/config/load.js';
import type { SlipwayConfig } from '../../src/config/schema.js';
import { createWorker } from '../../src/worker/create-worker.js';
import { HARNESS_ENV, type Harness } from './harness.js';

/**
 * The harness's config with payload encryption on: its own worker (own task queue) and API,
 * as `npm start` runs them. Histories are read raw through `h.temporal`, which has no codec.
 */
export interface SealedStack {
  config: SlipwayConfig;
  api: string;
  taskQueue: string;
  /** A client with the codec, as the API has it. */
  client: Client;
  stop(): Promise<void>;
}

/**
 * The key of the recorded histories (test/histories/): those runs carry only test values, and
 * the replay test needs the key to read them.
 */
export const HISTORY_KEY = { id: 'recorded-histories', key: 'c2xpcHdheSByZWNvcmRlZCBoaXN0b3JpZXMga2V5IDE=' };

export async function startSealedStack(h: Harness, name: string, key = { id: 'k1', key: randomBytes(32).toString('base64') }, overrides: Partial<SlipwayConfig> = {}): Promise<SealedStack> {
  const configText = `${h.configText}\nencryption:\n  keys: [ { id: ${key.id}, key: "${key.key}" } ]\n  corsOrigins: ["http://ui.example:8233"]\n`;
  const config = { ...parseConfig(configText, { env: HARNESS_ENV }), ...overrides };
  const taskQueue = `${name}-${Date.now().toString(36)}`;
  const worker = await createWorker({
    connection: h.temporal.nativeConnection, namespace: h.temporal.namespace, config, taskQueue, workflowBundle: h.temporal.workflowBundle,
    activityOptions: { imagePollMs: 200, checksPollMs: 200 }, shutdownGraceTime: '1s',
  });
  const running = worker.run();
  const client = new Client({ connection: h.temporal.connection, namespace: h.temporal.namespace, dataConverter: dataConverterFor(config.encryption) });
  const app = createApi({ config, client, taskQueue, namespace: h.temporal.namespace, stepTimeoutMs: 60_000, uiUrl: 'http://ui.example:8233', logError: () => undefined });
  const server: Server = await serveApi(app, { port: 0, host: '127.0.0.1' });
  return {
    config, taskQueue, client,
    api: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async stop() {
      server.closeAllConnections();
      server.close();
      worker.shutdown();
      await running;
    },
  };
}

/** Every string and byte string in a history, bytes read as text (JSON.stringify would base64 them). */
export function allText(node: unknown, out: string[] = []): string[] {
  if (node instanceof Uint8Array) out.push(Buffer.from(node).toString('latin1'));
  else if (typeof node === 'string') out.push(node);
  else if (Array.isArray(node)) for (const item of node) allText(item, out);
  else if (node && typeof node === 'object') for (const value of Object.values(node)) allText(value, out);
  return out;
}

/**
 * A workflow's raw history and those of every child it started, and their children, as the
 * server stores them (no codec), with each workflow's type.
 */
export async function historiesWithChildren(h: Harness, workflowId: string): Promise<Array<{ workflowId: string; type: string; text: string; history: unknown }>> {
  const found: Array<{ workflowId: string; type: string; text: string; history: unknown }> = [];
  const pending = [workflowId];
  while (pending.length) {
    const id = pending.shift()!;
    const { history } = await h.temporal.connection.workflowService.getWorkflowExecutionHistory({ namespace: h.temporal.namespace, execution: { workflowId: id } });
    const events = history?.events ?? [];
    found.push({ workflowId: id, type: events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '?', text: allText(history).join('\n'), history });
    pending.push(...events.flatMap((e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId ?? []));
  }
  return found;
}

/** A workflow's history as the server stores it (no codec), as one text to search. */
export async function rawHistoryText(h: Harness, workflowId: string): Promise<string> {
  const { history } = await h.temporal.connection.workflowService.getWorkflowExecutionHistory({ namespace: h.temporal.namespace, execution: { workflowId } });
  return allText(history).join('\n');
}

export interface Answer {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  text: string;
}

/** A request to the stack's API as `token`. */
export async function callStack(stack: SealedStack, token: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${stack.api}${path}`, {
    method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}), ...headers }, body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  const parsed: unknown = text ? JSON.parse(text) : undefined;
  checkAnswer({ method, path, status: response.status, contentType: response.headers.get('content-type'), body: parsed });
  return { status: response.status, body: parsed, text };
}

/** Polls a rotation until it has one of `statuses`. */
export async function waitForRotation(stack: SealedStack, token: string, id: string, statuses: string[]): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  for (let i = 0; i < 600; i++) {
    const { body } = await callStack(stack, token, 'GET', `/v1/rotations/${id}`);
    if (statuses.includes(body.status)) return body;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`rotation ${id} never became ${statuses.join(' or ')}: ${JSON.stringify((await callStack(stack, token, 'GET', `/v1/rotations/${id}`)).body)}`);
}
