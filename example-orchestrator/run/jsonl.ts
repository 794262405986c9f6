/** Append-only JSON-lines files: the run's logs of events and deliveries. */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';

export class JsonlWriter<T> {
  private readonly stream: WriteStream;
  private closed = false;

  constructor(readonly path: string) {
    this.stream = createWriteStream(path, { flags: 'a' });
  }

  /** Buffered; the line is complete on disk once close() resolves (or the stream drains). */
  write(record: T): void {
    if (this.closed) throw new Error(`${this.path} is closed; records written after close() would be lost`);
    this.stream.write(`${JSON.stringify(record)}\n`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stream.end();
    await once(this.stream, 'close');
  }
}
