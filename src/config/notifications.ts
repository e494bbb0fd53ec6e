import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * `notifications`: who hears about runs (docs/runs.md, "Notifications"). Each entry gets the events
 * it lists, for the services it lists (all when none), as Slack text or the run as JSON.
 */
export const RUN_EVENTS = ['started', 'succeeded', 'failed', 'rolled_back', 'aborted', 'awaiting_approval', 'awaiting_operator', 'waiting_for_window', 'promoted'] as const;
export const ROTATION_EVENTS = ['rotation.succeeded', 'rotation.compensated', 'rotation.failed'] as const;
export type NotificationEvent = (typeof RUN_EVENTS)[number] | (typeof ROTATION_EVENTS)[number];

export const notificationSchema = z.strictObject({
  url: z.string().regex(/^https?:\/\/\S+$/, 'expected an http:// or https:// URL'),
  format: z.enum(['slack', 'json']).default('json'),
  /** json only: the body's HMAC-SHA256 goes in X-Slipway-Signature. */
  secret: z.string().min(16, 'at least 16 characters').optional(),
  events: z.array(z.enum([...RUN_EVENTS, ...ROTATION_EVENTS])).min(1),
  services: z.array(z.string().min(1)).optional(),
}).superRefine((n, ctx) => {
  if (n.secret && n.format === 'slack') ctx.addIssue({ code: 'custom', path: ['secret'], message: 'a secret signs json bodies; a Slack webhook URL is its own secret' });
});
export type NotificationConfig = z.output<typeof notificationSchema>;

/** What a run carries about its notifications: which configured hook gets which of its events. */
export interface RunNotifications {
  hooks: { hook: string; events: NotificationEvent[] }[];
  /** As the API answers them: the run's own path and its page in the Temporal UI. */
  links: { self: string; ui: string };
}

/** The hooks that hear about a run of `service` (deploys and rollbacks, or rotations); undefined when none. */
export function notificationsFor(hooks: NotificationConfig[], service: string, kind: 'run' | 'rotation', links: RunNotifications['links']): RunNotifications | undefined {
  const mine = (event: NotificationEvent) => (kind === 'rotation' ? event.startsWith('rotation.') : !event.startsWith('rotation.'));
  const wanted = hooks.flatMap((h) => {
    const hook = hookId(h);
    if (h.services && !h.services.includes(service)) return [];
    const events = h.events.filter(mine);
    return events.length ? [{ hook, events }] : [];
  });
  return wanted.length ? { hooks: wanted, links } : undefined;
}

/**
 * A hook's name in a run's input: a digest of what it is (address, format, events), not its
 * place in the config, so that a run started before the config was reordered still tells each
 * team its own events. The digest reveals nothing of the URL, which may be a credential.
 */
export function hookId(hook: Pick<NotificationConfig, 'url' | 'format' | 'events'>): string {
  return createHash('sha256').update(JSON.stringify([hook.url, hook.format, hook.events])).digest('hex').slice(0, 12);
}
