/**
 * A delivery's processing window: the application's work on the message,
 * run inside its `process` span. Two open windows of one key in this process
 * are a `concurrent` violation.
 */
import { ROOT_CONTEXT, context, trace } from '@opentelemetry/api';
import * as semconv from '../semconv.js';
import { hasContext, recordError } from '../telemetry/spans.js';
import { endSpan, type ConsumerDelivery } from './consumer-delivery.js';
import { isThenable, logInternal, type Pipeline } from './pipeline.js';

/**
 * Runs `fn` inside the delivery's `process` span and processing window. The
 * window ends when `fn` returns or, for a promise, when it settles; `fn`'s
 * result (or error) is passed on untouched.
 */
export function runWindow<T>(pipeline: Pipeline, delivery: ConsumerDelivery, fn: () => T): T {
  if (!pipeline.active) return fn();
  const opened = openWindow(pipeline, delivery);
  let result: T;
  try {
    const span = delivery.span;
    // Nothing to make active when tracing is off and the message carried no context.
    result =
      delivery.messageContext === ROOT_CONTEXT && !hasContext(span) ? fn() : context.with(trace.setSpan(delivery.messageContext, span), fn);
  } catch (error) {
    if (opened) closeWindow(pipeline, delivery, true, error);
    throw error;
  }
  if (opened) {
    if (isThenable(result)) {
      result.then(
        () => closeWindow(pipeline, delivery, false, undefined),
        (error: unknown) => closeWindow(pipeline, delivery, true, error),
      );
    } else {
      closeWindow(pipeline, delivery, false, undefined);
    }
  }
  return result;
}

function openWindow(pipeline: Pipeline, delivery: ConsumerDelivery): boolean {
  try {
    if (delivery.inWindow) return false;
    if (pipeline.tracker.beginWindow(delivery)) {
      delivery.route.instruments.violations.concurrent.inc();
      delivery.span.setAttribute(semconv.ATTR_KEYSCOPE_VIOLATION, 'concurrent');
    }
    return true;
  } catch (error) {
    logInternal(error);
    return false;
  }
}

function closeWindow(pipeline: Pipeline, delivery: ConsumerDelivery, failed: boolean, error: unknown): void {
  try {
    pipeline.tracker.endWindow(delivery);
    // A failed handler fails the operation: error.type plus status ERROR, per the conventions.
    if (failed) recordError(delivery.span, error);
    if (!delivery.inflight) endSpan(delivery);
  } catch (internal) {
    logInternal(internal);
  }
}
