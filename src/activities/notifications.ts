import { createHmac } from 'node:crypto';
import { hookId, type NotificationEvent } from '../config/notifications.js';
import type { SlipwayConfig } from '../config/schema.js';
import { FailureType, TransientFailureType } from '../domain/failures.js';
import { slackMessage } from '../domain/notification.js';
import { cancellationSignal } from './context.js';
import { permanentFailure, transientFailure } from './failure.js';

const ATTEMPT_TIMEOUT_MS = 10_000;

/**
 * Sends one event to one configured hook. Transient answers (a connection error, 408, 429,
 * 5xx) are retried by the activity's policy for up to 10 minutes; any other refusal is final.
 * Errors name the hook by its place in the config and its id, never by its URL: that may be
 * a credential (Slack's).
 */
export function notificationActivities({ config }: { config: SlipwayConfig }) {
  return {
    async sendNotification(hook: string, event: NotificationEvent, run: { id: string; kind: string; service: string; environment: string; status: string }): Promise<{ status: number }> {
      const index = config.notifications.findIndex((n) => hookId(n) === hook);
      const target = config.notifications[index];
      if (!target) throw permanentFailure(FailureType.InvalidInput, `the hook ${hook} this run was told to use is no longer in the config (notifications)`);
      const where = `notifications[${index}] (${hook})`;
      const body = JSON.stringify(target.format === 'slack' ? slackMessage(event, run) : { event, run });
      const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'slipway' };
      if (target.secret) headers['x-slipway-signature'] = `sha256=${createHmac('sha256', target.secret).update(body).digest('hex')}`;
      let response: Response;
      try {
        const signals = [AbortSignal.timeout(ATTEMPT_TIMEOUT_MS), cancellationSignal()].filter((s): s is AbortSignal => !!s);
        response = await fetch(target.url, { method: 'POST', headers, body, signal: AbortSignal.any(signals), redirect: 'manual' });
      } catch (error) {
        if (cancellationSignal()?.aborted) throw error;
        throw transientFailure(TransientFailureType.NotificationTransient, `${where}: no answer (${(error as Error & { cause?: { code?: string } }).cause?.code ?? (error as Error).name})`);
      }
      await response.body?.cancel();
      if (response.ok) return { status: response.status };
      if (response.status >= 500 || response.status === 408 || response.status === 429) throw transientFailure(TransientFailureType.NotificationTransient, `${where}: answered ${response.status}`);
      throw permanentFailure(FailureType.InvalidInput, `${where}: answered ${response.status}; not retried`);
    },
  };
}
