/**
 * The one error root of the package. Everything pulsar-keyscope throws or
 * rejects with is a `KeyscopeError`: the middleware's configuration errors
 * and the WebSocket client's errors alike. Each class has a stable `name`
 * (safe to compare, unlike `constructor.name` after bundling) and says
 * whether trying again unchanged can help.
 */
export class KeyscopeError extends Error {
  /** True when the same call, retried unchanged (perhaps later), can succeed. */
  readonly retriable: boolean;

  constructor(message: string, options: { cause?: unknown; retriable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retriable = options.retriable ?? false;
  }

  override get name(): string {
    return 'KeyscopeError';
  }
}

/** Thrown by `new Keyscope(options)` (and `PulsarInstrumentation`) for options that cannot work. The message says what to change. */
export class KeyscopeConfigError extends KeyscopeError {
  override get name(): string {
    return 'KeyscopeConfigError';
  }
}
