/**
 * Send commands: what the orchestrator decided to send, published on the
 * outbound topic (message key = subscriber id, payload = JSON) for the
 * gateway to deliver.
 *
 * `commandId` names the journey step (subscriber, journey, step): one step is
 * meant to be sent at most once, so two decisions for one command id are a
 * double send. `decisionId` names one act of deciding: it is derived from the
 * command id, the input that was being applied and the state version it was
 * applied to, so re-running the same input on the same state (a redelivery
 * after a crash, say) re-derives the same decision, which the provider takes
 * as a retry; a second decision made from another input or another state
 * gets another id.
 */
import { createHash } from 'node:crypto';
import type { Channel } from './events.js';

export interface SendCommand {
  v: 1;
  commandId: string;
  decisionId: string;
  subscriberId: string;
  /** Journey instance, e.g. `abandoned_cart#2` for the subscriber's second abandoned cart. */
  journey: string;
  step: string;
  channel: Channel;
  /** Simulated clock: the event time at which the send was decided. */
  decidedAt: number;
  /** Simulated clock: when a timed send was due (undefined for immediate sends). */
  dueTime?: number;
  /** What was applied when deciding: `event:<seq>` or `timer:<timerId>`. */
  trigger: string;
  /** The orchestrator process that decided. */
  decidedBy: string;
  /** Wall clock: broker publish time of the message that triggered the decision (end-to-end latency). */
  triggerPublishedAt?: number;
  /** shared_redis_lock only: the fencing token held while deciding. */
  fence?: number;
}

export function commandIdOf(subscriberId: string, journey: string, step: string): string {
  return `${subscriberId}/${journey}/${step}`;
}

export function decisionIdOf(commandId: string, trigger: string, stateVersion: number): string {
  return createHash('sha256').update(`${commandId}\u0000${trigger}\u0000${stateVersion}`).digest('base64url').slice(0, 22);
}

export function encodeCommand(command: SendCommand): Buffer {
  return Buffer.from(JSON.stringify(command));
}

export function parseCommand(payload: Buffer | string): SendCommand | undefined {
  try {
    const value = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8')) as Partial<SendCommand>;
    if (
      value === null ||
      typeof value !== 'object' ||
      typeof value.commandId !== 'string' ||
      typeof value.decisionId !== 'string' ||
      typeof value.subscriberId !== 'string' ||
      (value.channel !== 'sms' && value.channel !== 'email')
    ) {
      return undefined;
    }
    return value as SendCommand;
  } catch {
    return undefined;
  }
}
