/**
 * What keyscope instrumented carries a mark, so that instrumenting it again
 * returns it as it is: a second wrapper would count every message twice,
 * settle half of them and stamp every message twice. The symbol is a
 * registered one, so two copies of the package agree on it.
 */
export const INSTRUMENTED: unique symbol = Symbol.for('pulsar-keyscope.instrumented') as never;

/** True for keyscope's wrappers and for the factory functions it patched in. Never throws. */
export function isInstrumented(value: unknown): boolean {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
  try {
    return (value as { [INSTRUMENTED]?: unknown })[INSTRUMENTED] === true;
  } catch {
    return false;
  }
}

/** Marks a function keyscope put in place of a client's own (a patched `subscribe`, say). */
export function markInstrumented<F extends object>(value: F): F {
  Object.defineProperty(value, INSTRUMENTED, { value: true });
  return value;
}
