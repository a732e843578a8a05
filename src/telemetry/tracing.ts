/**
 * OpenTelemetry traces, configured by the standard `OTEL_*` variables and off when none asks
 * for them (then every helper here is a no-op and BullMQ runs without telemetry). A slice is
 * followed through the phases: BullMQ's own spans (bullmq-otel: a job's `add` and `process`,
 * the context carried in the job) around the phase job, a `stage` span, the table gate's
 * commit job with links to every slice it landed, one `committed` span per slice whose
 * context travels in the completion event, and the dependency tracker queueing the downstream
 * jobs inside that context — so a prediction's trace leads back to the raw file.
 */
import { context, INVALID_SPAN_CONTEXT, type Link, propagation, type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import type { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { BullMQOtel } from 'bullmq-otel';
import { otlpEndpoint } from './otlp-endpoint.ts';

const TRACER = 'phasegate';

let provider: NodeTracerProvider | undefined;
let telemetry: BullMQOtel | undefined;
let starting: Promise<boolean> | undefined;

/** Where spans go (`otlpEndpoint`, otlp-endpoint.ts): off unless an `OTEL_*` variable asks for traces. */
export function tracesEndpoint(env: NodeJS.ProcessEnv): string | undefined {
  return otlpEndpoint(env, 'traces');
}

/**
 * Starts tracing for this process when `env` asks for it (once; later calls return the same
 * state). Resolves with whether tracing is on. The SDK, its exporter and bullmq-otel are
 * loaded only then: a process that traces nothing never carries them (~16 MB of RSS with the
 * metrics exporter).
 */
export function startTracing(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  if (provider) return Promise.resolve(true);
  const url = tracesEndpoint(env);
  if (!url) return Promise.resolve(false);
  starting ??= (async () => {
    const [{ OTLPTraceExporter }, { resourceFromAttributes }, { BatchSpanProcessor }, { NodeTracerProvider }, { BullMQOtel }] = await Promise.all([
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/sdk-trace-node'),
      import('bullmq-otel'),
    ]);
    provider = new NodeTracerProvider({
      resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME ?? 'phasegate' }),
      // Batched: a span never waits for the collector; `flushTracing` sends what is left.
      spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }), { scheduledDelayMillis: 500 })],
    });
    // Also installs the W3C trace-context propagator and the async context manager.
    provider.register();
    telemetry = new BullMQOtel({ tracerName: TRACER });
    return true;
  })().finally(() => {
    starting = undefined;
  });
  return starting;
}

/** Sends the spans not exported yet (a CLI process is about to exit). */
export async function flushTracing(): Promise<void> {
  await provider?.forceFlush();
}

/** Flushes and stops tracing, and unregisters it globally (tests start it again with another receiver). */
export async function stopTracing(): Promise<void> {
  const p = provider;
  provider = undefined;
  telemetry = undefined;
  if (!p) return;
  await p.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
}

/** BullMQ's `telemetry` option for a Queue or Worker: present only while tracing is on. */
export function bullmqTelemetry(): { telemetry?: BullMQOtel } {
  return telemetry ? { telemetry } : {};
}

const tracer = () => trace.getTracer(TRACER);

/** The active span's W3C `traceparent`, to carry in Redis (a staged slice, an event); undefined when tracing is off. */
export function currentTraceparent(): string | undefined {
  if (!provider) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

function linkTo(traceparent: string | undefined): Link | undefined {
  if (!traceparent) return undefined;
  const ctx = trace.getSpanContext(propagation.extract(context.active(), { traceparent }));
  return ctx ? { context: ctx } : undefined;
}

/** Runs `fn` in a span of its own (a child of the active one); an error thrown is recorded with its class. */
export async function inSpan<T>(name: string, attributes: Record<string, string | number>, fn: (span: Span) => Promise<T>): Promise<T> {
  if (!provider) return fn(trace.wrapSpanContext(INVALID_SPAN_CONTEXT));
  return tracer().startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      recordError(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Records an error on a span with its class (conflict, busy, transient, permanent, or its name). */
export function recordError(span: Span | undefined, err: unknown, kind?: string): void {
  if (!span || !provider) return;
  const e = err instanceof Error ? err : new Error(String(err));
  span.recordException(e);
  span.setAttribute('phasegate.error.class', kind ?? ((err as { kind?: string }).kind || e.name));
  span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
}

/** Attributes and links for the active span (a commit job's): the slices it landed, linked to where each was staged. */
export function describeActive(attributes: Record<string, string | number>, stagedAt: readonly (string | undefined)[] = []): void {
  const span = trace.getActiveSpan();
  if (!span || !provider) return;
  span.setAttributes(attributes);
  const links = stagedAt.map(linkTo).filter((l): l is Link => l !== undefined);
  if (links.length > 0) span.addLinks(links);
}

/**
 * One `committed` span per slice, a child of the commit, linked to the slice's staging: its
 * context goes out with the completion event, so the downstream work follows from it.
 */
export function committedSpan(attributes: Record<string, string | number>, stagedAt: string | undefined): string | undefined {
  if (!provider) return undefined;
  const link = linkTo(stagedAt);
  const span = tracer().startSpan(`committed ${attributes['phasegate.processor'] ?? ''}`.trim(), { attributes, links: link ? [link] : [] });
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(context.active(), span), carrier);
  span.end();
  return carrier.traceparent;
}

/** Runs `fn` with the context of a `traceparent` (an event's) as the active one. */
export function withTraceparent<T>(traceparent: string | undefined, fn: () => T): T {
  if (!provider || !traceparent) return fn();
  return context.with(propagation.extract(context.active(), { traceparent }), fn);
}
