/** One line saying what a benchmark ran on, printed with its tables. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { join, sep } from 'node:path';

export function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

export function environment(): string {
  // The package's exports map hides package.json; find it next to the resolved entry point.
  const entry = createRequire(import.meta.url).resolve('@opentelemetry/sdk-trace');
  const manifest = join(entry.slice(0, entry.lastIndexOf(`${sep}dist${sep}`)), 'package.json');
  const sdkVersion = (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
  const cpu = cpus();
  return `Node ${process.version} (V8 ${process.versions.v8}), @opentelemetry/sdk-trace ${sdkVersion}, ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, load average ${loadAverage()}`;
}
