/** Thrown by `new Keyscope(options)` (and `PulsarInstrumentation`) for options that cannot work. The message says what to change. */
export class KeyscopeConfigError extends Error {
  override readonly name = 'KeyscopeConfigError';
}
