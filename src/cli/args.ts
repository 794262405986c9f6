/** Argument parsing shared by the subcommands (node:util parseArgs), with errors that point at --help. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { KeyscopeError } from '../errors.js';

export class UsageError extends KeyscopeError {
  override get name(): string {
    return 'UsageError';
  }
}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export function parse(argv: string[], options: OptionSpec, allowPositionals: boolean): Parsed {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals,
      strict: true,
    });
    return { values: values as Parsed['values'], positionals };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export function stringOption(parsed: Parsed, name: string): string | undefined {
  const value = parsed.values[name];
  return typeof value === 'string' ? value : undefined;
}

export function listOption(parsed: Parsed, name: string): string[] | undefined {
  const value = parsed.values[name];
  if (Array.isArray(value))
    return value
      .flatMap((v) => v.split(','))
      .map((v) => v.trim())
      .filter((v) => v !== '');
  return undefined;
}

/** A number option; `integer` rejects fractions, and ports must be 0..65535. */
export function numberOption(parsed: Parsed, name: string, kind: 'port' | 'integer' | 'number' = 'number'): number | undefined {
  const text = stringOption(parsed, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  const ok =
    text.trim() !== '' &&
    Number.isFinite(value) &&
    value >= 0 &&
    (kind === 'number' || Number.isInteger(value)) &&
    (kind !== 'port' || value <= 65535);
  if (!ok)
    throw new UsageError(
      `--${name} must be ${kind === 'port' ? 'a port number (0-65535)' : kind === 'integer' ? 'a non-negative integer' : 'a non-negative number'} (got '${text}')`,
    );
  return value;
}

/** 90s, 15m, 2h, 1d, or a number of seconds. */
export function durationOption(parsed: Parsed, name: string): number | undefined {
  const text = stringOption(parsed, name);
  if (text === undefined) return undefined;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (match === null) throw new UsageError(`--${name} must be a duration like 90s, 15m, 2h or 1d (got '${text}')`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(match[2] ?? 's') as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

/** Runs until SIGINT or SIGTERM, then closes `service`. */
export function runUntilSignal(close: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      close().then(resolve, resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
