import type { NotificationEvent } from '../config/notifications.js';

/**
 * What a notification says (docs/runs.md, "Notifications"). Pure: the activity only sends it. The run
 * is as the API answers it, with no secret value in it (rotations answer names, never values).
 */
interface RunLike {
  id: string;
  kind: string;
  service: string;
  environment: string;
  status: string;
  version?: { sha: string | null } | undefined;
  error?: { step: string; target?: string | undefined; message: string } | undefined;
  links?: { ui?: string } | undefined;
  waitingFor?: { kind: string; until: string; reason: string } | undefined;
  promotedFrom?: { environment: string } | undefined;
}

const WORDS: Record<NotificationEvent, string> = {
  started: 'started', succeeded: 'succeeded', failed: 'failed', rolled_back: 'was rolled back', aborted: 'was aborted',
  awaiting_approval: 'waits for approval', awaiting_operator: 'waits for an operator',
  waiting_for_window: 'waits for its deploy window', promoted: 'was promoted',
  'rotation.succeeded': 'succeeded', 'rotation.compensated': 'failed and was undone', 'rotation.failed': 'failed, and needs an operator',
};

/** One line a person reads: what, where, and how it went. */
export function headline(event: NotificationEvent, run: RunLike): string {
  const what = event.startsWith('rotation.') ? `${run.kind} rotation` : `${run.kind} of ${run.version?.sha?.slice(0, 7) ?? 'a tag'}`;
  return `${run.service}/${run.environment}: ${what} ${WORDS[event]}`;
}

/** Slack's incoming-webhook body: Block Kit text, with the plain text as its fallback. */
export function slackMessage(event: NotificationEvent, run: RunLike): { text: string; blocks: unknown[] } {
  const lines = [`*${headline(event, run)}*`];
  if (run.error) lines.push(`${run.error.step}${run.error.target ? ` on ${run.error.target}` : ''}: ${run.error.message.split('\n')[0]}`);
  if (run.waitingFor) lines.push(`${run.waitingFor.reason}; starts at ${run.waitingFor.until}`);
  if (event === 'promoted' && run.promotedFrom) lines.push(`from ${run.promotedFrom.environment}`);
  if (run.links?.ui) lines.push(`<${run.links.ui}|${run.id}>`);
  else lines.push(run.id);
  return { text: headline(event, run), blocks: [{ type: 'section', text: { type: 'mrkdwn', text: lines.join('\n') } }] };
}
