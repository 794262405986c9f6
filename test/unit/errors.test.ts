import { describe, expect, it } from 'vitest';
import { KeyscopeConfigError, KeyscopeError } from '../../src/index.js';
import * as websocket from '../../src/websocket/index.js';
import { ConnectionError, SendTimeoutError } from '../../src/websocket/index.js';

describe('one error root', () => {
  const errorClasses = Object.entries(websocket).filter(([, value]) => typeof value === 'function' && value.prototype instanceof Error) as [
    string,
    new (...args: never[]) => Error,
  ][];

  it('every error class the package exports derives from KeyscopeError and names itself', () => {
    expect(errorClasses.length).toBeGreaterThanOrEqual(10);
    for (const [exportName, ErrorClass] of [...errorClasses, ['KeyscopeConfigError', KeyscopeConfigError] as const]) {
      if (ErrorClass === KeyscopeError) continue;
      expect(ErrorClass.prototype, exportName).toBeInstanceOf(KeyscopeError);
      // A stable name, independent of how a bundler renames the class.
      expect(Object.getOwnPropertyDescriptor(ErrorClass.prototype, 'name')?.get?.call(undefined), exportName).toBe(exportName);
    }
  });

  it('says whether a retry can help', () => {
    expect(new KeyscopeConfigError('bad option').retriable).toBe(false);
    expect(new SendTimeoutError('t', 1).retriable).toBe(true);
    expect(new ConnectionError('ws://x', 'refused', 401).retriable).toBe(false);
    expect(new ConnectionError('ws://x', 'reset').retriable).toBe(true);
    const error = new KeyscopeConfigError('x');
    expect(String(error)).toBe('KeyscopeConfigError: x');
  });
});
