/**
 * The README states the option defaults for users; the code states them in
 * KEYSCOPE_DEFAULTS and WEBSOCKET_DEFAULTS. These checks keep the two equal.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KEYSCOPE_DEFAULTS } from '../../src/index.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README defaults', () => {
  it('the options table gives every KEYSCOPE_DEFAULTS value', () => {
    for (const [option, value] of Object.entries(KEYSCOPE_DEFAULTS)) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${option}\` |`));
      expect(row, `README options table has no row for ${option}`).toBeDefined();
      const cell = row!.split('|')[2]!.trim();
      const expected = typeof value === 'string' ? `\`'${value}'\`` : `\`${value}\``;
      expect(cell, option).toBe(expected);
    }
  });
});
