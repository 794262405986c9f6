/**
 * Reader wrapper. A reader has no subscription and no acks, so nothing is in
 * flight: each message read gets a `process` span continuing the producer's
 * trace (covering the listener's work when a listener is used, until its
 * promise settles; a failing listener sets status ERROR), and malformed
 * context is counted.
 */
import { ROOT_CONTEXT, context, trace } from '@opentelemetry/api';
import { IncomingStamps } from '../context/incoming.js';
import { Destination, recordError, type ProcessTarget } from '../telemetry/spans.js';

const INVALID_SPAN = trace.wrapSpanContext({ traceId: '', spanId: '', traceFlags: 0 });
import { parseTopicName } from '../telemetry/topic-name.js';
import { isThenable, logInternal, type Pipeline } from './pipeline.js';
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
      const started: ProcessTarget = { span: INVALID_SPAN, messageContext: ROOT_CONTEXT };
      this.pipeline.spans.startProcess(destination, stamps.context, started);
      return started;
    } catch (error) {
      logInternal(error);
      return undefined;
    }
  }

  read(message: MessageLike): MessageLike {
    this.begin(message)?.span.end();
    return message;
  }

  wrapListener(listener: (message: MessageLike, reader: ReaderLike) => unknown) {
    return (message: MessageLike, reader: ReaderLike): unknown => {
      const started = this.begin(message);
      const wrappedReader = this.wrap(reader);
      if (started === undefined) return listener(message, wrappedReader);
      const span = started.span;
      let result: unknown;
      try {
        result = context.with(trace.setSpan(started.messageContext, span), () => listener(message, wrappedReader));
      } catch (error) {
        recordError(span, error);
        span.end();
        throw error;
      }
      // An async listener's span covers its work, and its rejection fails the span.
      if (isThenable(result)) {
        result.then(
          () => span.end(),
          (error: unknown) => {
            recordError(span, error);
            span.end();
          },
        );
      } else {
        span.end();
      }
      return result;
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
