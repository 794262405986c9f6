/**
 * What the README tells users matches the code: the context-error reasons it
 * lists are the ones counted, and its Key_Shared examples batch by key.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONTEXT_ERROR_REASONS } from '../../src/context/incoming.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README claims', () => {
  it('lists exactly the reasons keyscope_context_errors_total counts', () => {
    const sentence = /Reasons: ([^.]*)\./.exec(readme.replace(/\s+/g, ' '))?.[1] ?? '';
    const listed = [...sentence.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]);
    expect(listed.sort()).toEqual([...CONTEXT_ERROR_REASONS].sort());
  });

  it('every example producer next to a Key_Shared subscription batches by key or not at all', () => {
    const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
    const keyShared = blocks.filter((block) => block.includes("'KeyShared'") && block.includes('createProducer('));
    expect(keyShared.length).toBeGreaterThan(0);
    for (const block of keyShared) {
      for (const call of block.matchAll(/createProducer\(([^)]*)\)/g)) {
        expect(call[1], call[0]).toMatch(/batchingType: 'KeyBasedBatching'|batchingEnabled: false/);
      }
    }
  });
});
