/** What the metrics export reads (metrics.ts), kept apart so the SDK side (metrics-sdk.ts) and the API side share it without a cycle. */

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
