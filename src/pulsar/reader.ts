/**
 * Reader wrapper. A reader has no subscription and no acks, so nothing is in
 * flight: each message read gets a `process` span continuing the producer's
 * trace (covering the listener call when a listener is used), and malformed
 * context is counted.
 */
import { context, trace } from '@opentelemetry/api';
import { IncomingStamps } from '../context/incoming.js';
import { Destination } from '../telemetry/spans.js';
import { parseTopicName } from '../telemetry/topicName.js';
import { logInternal, type Pipeline } from './pipeline.js';
import { overlay } from './overlay.js';
import type { MessageLike, ReaderLike } from './types.js';

class ReaderInstrumentation {
  private readonly stamps = new IncomingStamps();
  private readonly destinations = new Map<string, Destination>();

  constructor(private readonly pipeline: Pipeline) {}

  /** Starts a process span for a message read; returns undefined when instrumentation is off or fails. */
  private begin(message: MessageLike) {
    if (!this.pipeline.active) return undefined;
    try {
      const topicName = String(message.getTopicName());
      let destination = this.destinations.get(topicName);
      if (destination === undefined) {
        destination = new Destination(parseTopicName(topicName));
        this.destinations.set(topicName, destination);
      }
      const stamps = this.stamps.read(message.getProperties());
      if (stamps.firstError !== undefined) this.pipeline.countContextErrors(destination.topic.base, stamps);
      return this.pipeline.spans.startProcess(destination, stamps.context);
    } catch (error) {
      logInternal(error);
      return undefined;
    }
  }

  read(message: MessageLike): MessageLike {
    this.begin(message)?.end();
    return message;
  }

  wrapListener(listener: (message: MessageLike, reader: ReaderLike) => unknown) {
    return (message: MessageLike, reader: ReaderLike): unknown => {
      const span = this.begin(message);
      const wrappedReader = this.wrap(reader);
      if (span === undefined) return listener(message, wrappedReader);
      try {
        return context.with(trace.setSpan(context.active(), span), () => listener(message, wrappedReader));
      } finally {
        span.end();
      }
    };
  }

  private wrapped: ReaderLike | undefined;

  wrap<R extends ReaderLike>(reader: R): R {
    if (this.wrapped !== undefined) return this.wrapped as R;
    const raw: ReaderLike = reader;
    const wrapped = overlay(reader, {
      readNext: (...args: [number?]) => raw.readNext(...args).then((message) => this.read(message)),
    });
    this.wrapped = wrapped;
    return wrapped;
  }
}

export function readerInstrumentation(pipeline: Pipeline): ReaderInstrumentation {
  return new ReaderInstrumentation(pipeline);
}

export function instrumentReader<R extends ReaderLike>(pipeline: Pipeline, reader: R): R {
  return new ReaderInstrumentation(pipeline).wrap(reader);
}
