/**
 * Sequential replay: one subscriber's events, in sequence order, through the
 * same decision function, each timer firing at its due time. What a correct
 * orchestrator must have sent, whatever its concurrency.
 */
import { decide, fireAllTimers, type Decision } from './decide.js';
import type { SubscriberEvent } from './events.js';
import type { JourneyPolicy } from './policy.js';
import type { SubscriberState } from './state.js';

export interface Replay {
  sends: Decision[];
  state: SubscriberState | undefined;
  /** State writes a sequential orchestrator makes (inputs that changed something). */
  writes: number;
}

/** `events`: one subscriber's, any order (sorted by seq here); the end fires every timer still pending. */
export function replaySubscriber(events: readonly SubscriberEvent[], policy: JourneyPolicy): Replay {
  const ordered = [...events].sort((a, b) => a.seq - b.seq);
  let state: SubscriberState | undefined;
  let version = 0;
  const sends: Decision[] = [];
  for (const event of ordered) {
    const decided = decide(state, { kind: 'event', event }, policy, { stateVersion: version });
    if (!decided.changed) continue;
    state = decided.state;
    version += 1;
    sends.push(...decided.sends);
  }
  if (state !== undefined && state.timers.length > 0) {
    const end = fireAllTimers(state, policy, version);
    state = end.state;
    sends.push(...end.sends);
  }
  return { sends, state, writes: version };
}
