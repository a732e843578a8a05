/**
 * OpenTelemetry metrics: phasegate's `/metrics`, also pushed over OTLP/HTTP when the standard
 * `OTEL_*` variables ask for it (off otherwise, like the traces in tracing.ts).
 *
 * One definition serves both. The metrics are defined once, as prom-client metrics (name,
 * help, labels, buckets: src/dashboard/metrics/), and this module is a bridge that reads the
 * same registry at each export — an SDK `MetricProducer` handed to the periodic reader, the
 * mechanism the SDK offers for metrics aggregated elsewhere. Not OTel instruments that mirror
 * them: a second set of names could drift from the one alerts are written against, and a
 * histogram has no observable (callback) instrument, so its buckets could not be read back.
 * Counters and histograms are cumulative since the source started (as prom-client keeps them).
 */
import type { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { MetricSource } from './metric-source.ts';
import { otlpEndpoint } from './otlp-endpoint.ts';

export type { MetricSource, PromMetric } from './metric-source.ts';

/** The specification's defaults for `OTEL_METRIC_EXPORT_INTERVAL` and `OTEL_METRIC_EXPORT_TIMEOUT` (ms). */
const DEFAULT_INTERVAL_MS = 60_000;
const DEFAULT_TIMEOUT_MS = 30_000;
/**
 * Where metrics go (`otlpEndpoint`, otlp-endpoint.ts): `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`,
 * `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/metrics`, or the default endpoint when
 * `OTEL_METRICS_EXPORTER` names `otlp`; off when it names only other exporters (`none`,
 * `console`, `prometheus`) or `OTEL_SDK_DISABLED=true`.
 */
export function metricsEndpoint(env: NodeJS.ProcessEnv): string | undefined {
  return otlpEndpoint(env, 'metrics');
}

function positiveMs(text: string | undefined, fallback: number): number {
  const n = Number(text);
  return text !== undefined && text.trim() !== '' && Number.isFinite(n) && n > 0 ? n : fallback;
}

/** `OTEL_METRIC_EXPORT_INTERVAL` (ms between two exports), the specification's 60 s when unset or invalid. */
export function metricExportIntervalMs(env: NodeJS.ProcessEnv): number {
  return positiveMs(env.OTEL_METRIC_EXPORT_INTERVAL, DEFAULT_INTERVAL_MS);
}

let provider: MeterProvider | undefined;
let starting: Promise<boolean> | undefined;
const sources = new Set<MetricSource>();

/**
 * Starts the metrics export for this process when `env` asks for it (once; later calls return
 * the same state). Nothing is sent until a source is attached (`exportMetricsOf`). Returns
 * whether the export is on (a promise: the SDK is loaded then).
 */
export function startMetrics(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  if (provider) return Promise.resolve(true);
  const url = metricsEndpoint(env);
  if (!url) return Promise.resolve(false);
  starting ??= (async () => {
    const interval = metricExportIntervalMs(env);
    const { meterProvider } = await import('./metrics-sdk.ts');
    provider = meterProvider({
      url,
      serviceName: env.OTEL_SERVICE_NAME ?? 'phasegate',
      intervalMs: interval,
      // The reader refuses a timeout longer than the interval when both are given.
      timeoutMs: Math.min(interval, positiveMs(env.OTEL_METRIC_EXPORT_TIMEOUT, DEFAULT_TIMEOUT_MS)),
      sources,
    });
    return true;
  })().finally(() => {
    starting = undefined;
  });
  return starting;
}

/** Whether the metrics export is on in this process. */
export function metricsExporting(): boolean {
  return provider !== undefined;
}

/**
 * Exports `source`'s metrics at every interval until the returned function is called, which
 * sends them one last time (the commits of a process's last seconds) and detaches it.
 */
export function exportMetricsOf(source: MetricSource): () => Promise<void> {
  if (!provider) return async () => undefined;
  sources.add(source);
  return async () => {
    if (!sources.has(source)) return;
    try {
      await provider?.forceFlush();
    } finally {
      sources.delete(source);
    }
  };
}

/** Sends what is left and stops the export (tests start it again with another receiver). */
export async function stopMetrics(): Promise<void> {
  const p = provider;
  provider = undefined;
  if (!p) return;
  await p.shutdown();
  sources.clear();
}
