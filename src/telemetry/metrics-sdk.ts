/**
 * The OpenTelemetry SDK side of the metrics export (metrics.ts): loaded only when an export is
 * asked for, so a process without one never carries the SDK and its exporter (~16 MB of RSS).
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
import type { MetricSource, PromMetric } from './metric-source.ts';

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
function producerOf(sources: ReadonlySet<MetricSource>, resource: Resource): MetricProducer {
  return {
    async collect(): Promise<CollectionResult> {
      const read = await Promise.allSettled([...sources].map(async (s) => toMetricData(await s.snapshot(), s.startedAt)));
      const metrics = read.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
      const errors = read.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
      return {
        resourceMetrics: {
          resource,
          scopeMetrics: metrics.length > 0 ? [{ scope: { name: 'phasegate' }, metrics }] : [],
        },
        errors,
      };
    },
  };
}

/** A meter provider whose periodic reader sends every source in `sources` (read at each export) to `url`. */
export function meterProvider(opts: {
  url: string;
  serviceName: string;
  intervalMs: number;
  timeoutMs: number;
  sources: ReadonlySet<MetricSource>;
}): MeterProvider {
  const resource = resourceFromAttributes({ 'service.name': opts.serviceName });
  return new MeterProvider({
    resource,
    readers: [
      new PeriodicExportingMetricReader({
        // OTEL_EXPORTER_OTLP_HEADERS / _TIMEOUT are read by the exporter itself.
        exporter: new OTLPMetricExporter({ url: opts.url }),
        exportIntervalMillis: opts.intervalMs,
        exportTimeoutMillis: opts.timeoutMs,
        metricProducers: [producerOf(opts.sources, resource)],
      }),
    ],
  });
}
