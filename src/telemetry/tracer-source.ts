/**
 * The tracer keyscope records with (named and versioned after the package,
 * with the conventions' schema URL), and whether anything records at all.
 *
 * With no OpenTelemetry SDK registered, the global tracer provider is the
 * API's proxy, whose tracer makes no-op spans. Every message would still pay
 * for two of them (the proxy, the no-op tracer, a span object, its checks):
 * a good part of what metrics alone cost. So while the proxy has nothing
 * behind it, `off` is true and spans are skipped; what the no-op tracer
 * would propagate (a message's incoming context, the caller's active one)
 * still propagates. Once an SDK is registered behind the proxy, spans are
 * made through it, as the proxy itself would.
 */
import { ProxyTracerProvider, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { SCHEMA_URL } from '../semconv.js';
import { PACKAGE_NAME, VERSION } from '../version.js';

const TRACER_OPTIONS = { schemaUrl: SCHEMA_URL };

export class TracerSource {
  tracer!: Tracer;
  /** The global proxy while no SDK is registered behind it. */
  private awaitingSdk: ProxyTracerProvider | undefined;

  constructor(provider: TracerProvider) {
    this.use(provider);
  }

  use(provider: TracerProvider): void {
    this.tracer = provider.getTracer(PACKAGE_NAME, VERSION, TRACER_OPTIONS);
    this.awaitingSdk = provider instanceof ProxyTracerProvider ? provider : undefined;
  }

  /** True while no tracer provider that records anything is in use. */
  get off(): boolean {
    const proxy = this.awaitingSdk;
    if (proxy === undefined) return false;
    if (proxy.getDelegateTracer(PACKAGE_NAME, VERSION, TRACER_OPTIONS) === undefined) return true;
    // An SDK was registered: the proxy's tracer delegates to it from now on.
    this.awaitingSdk = undefined;
    return false;
  }
}
