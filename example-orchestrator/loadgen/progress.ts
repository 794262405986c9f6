import cliProgress from 'cli-progress';

export interface ProgressFields {
  /** Events published so far. */
  published: number;
  /** Deliveries the provider accepted so far (or another "done" count). */
  done: number;
  /** Free text, e.g. the last fault. */
  note: string;
}

/**
 * A live progress bar for one timed phase (a mode's run). On a terminal it
 * redraws in place; elsewhere (CI logs, pipes) it prints one plain line every
 * 20 seconds instead of a bar, so logs stay short.
 */
export class RunProgress {
  private readonly bar: cliProgress.SingleBar;
  private readonly totalSeconds: number;

  constructor(label: string, totalMs: number, stream: NodeJS.WriteStream = process.stderr) {
    this.totalSeconds = Math.max(1, Math.round(totalMs / 1000));
    const interactive = stream.isTTY === true;
    this.bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${label.padEnd(18)} {bar} {value}/{total}s | published {published} | done {done} | {rate} ev/s | {note}`,
        barsize: 24,
        hideCursor: interactive ? true : null,
        clearOnComplete: false,
        fps: 4,
        noTTYOutput: !interactive,
        notTTYSchedule: 20_000,
        linewrap: false,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(this.totalSeconds, 0, { published: 0, done: 0, rate: 0, note: '' });
  }

  update(elapsedMs: number, fields: ProgressFields): void {
    const seconds = Math.min(this.totalSeconds, Math.floor(elapsedMs / 1000));
    const rate = elapsedMs > 0 ? Math.round((fields.done * 1000) / elapsedMs) : 0;
    this.bar.update(seconds, { ...fields, rate });
  }

  stop(): void {
    this.bar.stop();
  }
}
