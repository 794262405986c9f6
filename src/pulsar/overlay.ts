/**
 * Wraps an object so that chosen methods are replaced and every other member
 * is the original's (functions bound to the original). The wrapper keeps the
 * original's prototype, so `instanceof` and members added by newer client
 * versions keep working. The wrapper carries keyscope's INSTRUMENTED mark.
 */
import { INSTRUMENTED } from './instrumented.js';

export function overlay<T extends object>(target: T, overrides: Record<string, unknown>): T {
  const bound = new Map<PropertyKey, { original: unknown; bound: unknown }>();
  return new Proxy(target, {
    get(object, property) {
      if (property === INSTRUMENTED) return true;
      if (typeof property === 'string' && Object.hasOwn(overrides, property)) {
        return overrides[property];
      }
      const value: unknown = Reflect.get(object, property, object);
      if (typeof value !== 'function') return value;
      const cached = bound.get(property);
      if (cached !== undefined && cached.original === value) return cached.bound;
      const fresh = (value as (...args: unknown[]) => unknown).bind(object);
      bound.set(property, { original: value, bound: fresh });
      return fresh;
    },
  });
}
