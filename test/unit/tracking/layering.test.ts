/**
 * The tracking rules are pure: nothing in src/tracking/ imports OpenTelemetry,
 * prom-client or another room of the library, so each rule can be read and
 * tested on its own.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const folder = new URL('../../../src/tracking/', import.meta.url);

describe('src/tracking/', () => {
  it('imports only its own files', () => {
    const files = readdirSync(folder).filter((name) => name.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(3);
    for (const file of files) {
      const source = readFileSync(new URL(file, folder), 'utf8');
      const imports = [...source.matchAll(/^import[^'"]*['"]([^'"]+)['"]/gm)].map((m) => m[1]);
      expect(
        imports.filter((from) => !from?.startsWith('./')),
        file,
      ).toEqual([]);
    }
  });
});
