/**
 * The run's simulated clock: simulated time runs `speed` times faster than
 * the wall clock from a common origin. Every process of a run and the load
 * generator share one SimClock, so that "a reminder one simulated hour after
 * the cart" is a fixed number of wall milliseconds everywhere. Pure: the wall
 * time is always passed in.
 */
export interface SimClock {
  /** Wall clock (ms since the epoch) at the origin. */
  wallOrigin: number;
  /** Simulated time (ms since the epoch) at the origin. */
  simOrigin: number;
  /** Simulated milliseconds per wall millisecond. */
  speed: number;
}

export function simTimeAt(clock: SimClock, wallMs: number): number {
  return Math.round(clock.simOrigin + (wallMs - clock.wallOrigin) * clock.speed);
}

export function wallTimeOf(clock: SimClock, simMs: number): number {
  return Math.round(clock.wallOrigin + (simMs - clock.simOrigin) / clock.speed);
}

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
