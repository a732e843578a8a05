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
import { type Attributes, type HrTime, ValueType } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  type CollectionResult,
  DataPointType,
  MeterProvider,
  type MetricData,
  type MetricProducer,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';

/** One metric as prom-client's `Registry.getMetricsAsJSON()` gives it. */
export interface PromMetric {
  name: string;
  help: string;
  type: string;
  values: { value: number; labels: Partial<Record<string, string | number>>; metricName?: string | undefined }[];
}

/** Metrics to export: a process's prom-client registry, refreshed on each read. */
export interface MetricSource {
  /** When its counters and histograms started counting (ms): their series' start time. */
  readonly startedAt: number;
  /** Every metric, refreshed now. */
  snapshot(): Promise<PromMetric[]>;
}

/** The specification's defaults for `OTEL_METRIC_EXPORT_INTERVAL` and `OTEL_METRIC_EXPORT_TIMEOUT` (ms). */
const DEFAULT_INTERVAL_MS = 60_000;
const DEFAULT_TIMEOUT_MS = 30_000;
/** Where an OTLP/HTTP exporter sends metrics when asked for (`OTEL_METRICS_EXPORTER=otlp`) with no endpoint. */
const DEFAULT_ENDPOINT = 'http://localhost:4318/v1/metrics';

/**
 * Where metrics go, from the standard variables: `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` (as is),
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (+ `/v1/metrics`), or the default endpoint when
 * `OTEL_METRICS_EXPORTER` names `otlp` without one. `OTEL_METRICS_EXPORTER` naming only other
 * exporters (`none`, `console`, `prometheus`) or `OTEL_SDK_DISABLED=true` means no export.
 */
export function metricsEndpoint(env: NodeJS.ProcessEnv): string | undefined {
  if (env.OTEL_SDK_DISABLED === 'true') return undefined;
  const exporters = (env.OTEL_METRICS_EXPORTER ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (exporters.length > 0 && !exporters.includes('otlp')) return undefined;
  if (env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT) return env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT;
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT) return `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/metrics`;
  return exporters.includes('otlp') ? DEFAULT_ENDPOINT : undefined;
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
let resource: Resource | undefined;
const sources = new Set<MetricSource>();

function hrTime(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
}

function attributesOf(labels: PromMetric['values'][number]['labels'], without?: string): Attributes {
  const out: Attributes = {};
  for (const [k, v] of Object.entries(labels)) if (k !== without && v !== undefined) out[k] = v;
  return out;
}

/** The unit a Prometheus name ends with, in UCUM as OTLP wants it. */
function unitOf(name: string): string {
  if (/_seconds(_total)?$/.test(name)) return 's';
  if (/_bytes(_total)?$/.test(name)) return 'By';
  return /_ratio$/.test(name) ? '1' : '';
}

/** A prom-client histogram's `_bucket` (cumulative, by `le`), `_sum` and `_count` values, one OTLP point per label set. */
function histogramPoints(m: PromMetric, start: HrTime, end: HrTime): MetricData {
  const series = new Map<string, { attributes: Attributes; le: Map<number, number>; sum: number; count: number }>();
  for (const v of m.values) {
    const attributes = attributesOf(v.labels, 'le');
    const key = JSON.stringify(Object.entries(attributes).sort(([a], [b]) => a.localeCompare(b)));
    let s = series.get(key);
    if (!s) {
      s = { attributes, le: new Map(), sum: 0, count: 0 };
      series.set(key, s);
    }
    const name = v.metricName ?? '';
    if (name.endsWith('_bucket')) s.le.set(v.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(v.labels.le), v.value);
    else if (name.endsWith('_sum')) s.sum = v.value;
    else if (name.endsWith('_count')) s.count = v.value;
  }
  return {
    descriptor: { name: m.name, description: m.help, unit: unitOf(m.name), valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints: [...series.values()].map((s) => {
      const bounds = [...s.le.keys()].sort((a, b) => a - b);
      const boundaries = bounds.filter(Number.isFinite);
      // Prometheus counts `≤ le` cumulatively; OTLP counts each bucket on its own, +Inf last.
      let below = 0;
      const counts = [...boundaries, Number.POSITIVE_INFINITY].map((b) => {
        const upTo = b === Number.POSITIVE_INFINITY ? s.count : (s.le.get(b) ?? below);
        const n = upTo - below;
        below = upTo;
        return n;
      });
      return { startTime: start, endTime: end, attributes: s.attributes, value: { buckets: { boundaries, counts }, sum: s.sum, count: s.count } };
    }),
  };
}

/** prom-client's metrics as OTLP's: a gauge as a gauge, a counter as a monotonic cumulative sum, a histogram as one. */
export function toMetricData(metrics: readonly PromMetric[], startedAt: number, now = Date.now()): MetricData[] {
  const start = hrTime(startedAt);
  const end = hrTime(now);
  const out: MetricData[] = [];
  for (const m of metrics) {
    const descriptor = { name: m.name, description: m.help, unit: unitOf(m.name), valueType: ValueType.DOUBLE };
    const points = () => m.values.map((v) => ({ startTime: start, endTime: end, attributes: attributesOf(v.labels), value: v.value }));
    if (m.type === 'gauge')
      out.push({ descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE, dataPoints: points() });
    else if (m.type === 'counter')
      out.push({
        descriptor,
        aggregationTemporality: AggregationTemporality.CUMULATIVE,
        dataPointType: DataPointType.SUM,
        isMonotonic: true,
        dataPoints: points(),
      });
    else if (m.type === 'histogram') out.push(histogramPoints(m, start, end));
    // phasegate defines no summaries; one would need quantiles OTLP's summary carries differently.
  }
  return out;
}

/** The reader's producer: every attached source, read now; one that fails (Redis away) is an error of this export, not of the others. */
const producer: MetricProducer = {
  async collect(): Promise<CollectionResult> {
    const read = await Promise.allSettled([...sources].map(async (s) => toMetricData(await s.snapshot(), s.startedAt)));
    const metrics = read.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
    const errors = read.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    return {
      resourceMetrics: {
        resource: resource ?? resourceFromAttributes({}),
        scopeMetrics: metrics.length > 0 ? [{ scope: { name: 'phasegate' }, metrics }] : [],
      },
      errors,
    };
  },
};

/**
 * Starts the metrics export for this process when `env` asks for it (once; later calls return
 * the same state). Nothing is sent until a source is attached (`exportMetricsOf`). Returns
 * whether the export is on.
 */
export function startMetrics(env: NodeJS.ProcessEnv = process.env): boolean {
  if (provider) return true;
  const url = metricsEndpoint(env);
  if (!url) return false;
  const interval = metricExportIntervalMs(env);
  resource = resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME ?? 'phasegate' });
  provider = new MeterProvider({
    resource,
    readers: [
      new PeriodicExportingMetricReader({
        // OTEL_EXPORTER_OTLP_HEADERS / _TIMEOUT are read by the exporter itself.
        exporter: new OTLPMetricExporter({ url }),
        exportIntervalMillis: interval,
        // The reader refuses a timeout longer than the interval when both are given.
        exportTimeoutMillis: Math.min(interval, positiveMs(env.OTEL_METRIC_EXPORT_TIMEOUT, DEFAULT_TIMEOUT_MS)),
        metricProducers: [producer],
      }),
    ],
  });
  return true;
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
  resource = undefined;
}
