/**
 * Stamps written by the producer wrapper into message properties. Order
 * within a key is the order of `keyscope-seq` among that key's messages from
 * one producer, so producers keep no per-key state.
 */
import { randomBytes } from 'node:crypto';

export const PRODUCER_PROPERTY = 'keyscope-producer';
export const SEQ_PROPERTY = 'keyscope-seq';

/** Random, URL-safe id for a wrapped producer or consumer (12 characters). */
export function newInstanceId(): string {
  return randomBytes(9).toString('base64url');
}

/** Issues the strictly increasing sequence numbers of one wrapped producer. */
export class ProducerStamp {
  private issued = 0;

  constructor(readonly producerId: string = newInstanceId()) {}

  nextSeq(): number {
    return ++this.issued;
  }

  /** The seq issued last (0 before the first). */
  get lastSeq(): number {
    return this.issued;
  }
}
