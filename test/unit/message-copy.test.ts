import { describe, expect, it } from 'vitest';
import { MESSAGE_FIELDS, copyMessageFields } from '../../src/pulsar/message-copy.js';
import type { ProducerMessageLike } from '../../src/pulsar/types.js';

describe('copyMessageFields', () => {
  it('copies every field pulsar-client reads, reading each once', () => {
    const reads = new Map<string, number>();
    const source = {};
    for (const field of MESSAGE_FIELDS) {
      Object.defineProperty(source, field, {
        get: () => {
          reads.set(field, (reads.get(field) ?? 0) + 1);
          return `value of ${field}`;
        },
        enumerable: true,
      });
    }
    const copy = copyMessageFields(source as ProducerMessageLike) as unknown as Record<string, unknown>;
    for (const field of MESSAGE_FIELDS) {
      expect(copy[field]).toBe(`value of ${field}`);
      expect(reads.get(field)).toBe(1);
    }
    expect(Object.keys(copy).sort()).toEqual([...MESSAGE_FIELDS].sort());
  });

  it('leaves out a field that is absent or undefined, as pulsar-client ignores both', () => {
    const copy = copyMessageFields({ data: Buffer.from('x'), deliverAfter: undefined } as ProducerMessageLike);
    expect(Object.keys(copy)).toEqual(['data']);
  });
});
