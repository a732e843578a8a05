/**
 * Where an OTLP/HTTP signal goes, from the standard variables, one rule for traces and metrics:
 * the signal's own endpoint (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `…_METRICS_ENDPOINT`) as is;
 * else `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/<signal>`; else, when the signal's exporter list
 * (`OTEL_TRACES_EXPORTER`, `OTEL_METRICS_EXPORTER`) names `otlp`, the specification's default
 * endpoint. Off when that list names only other exporters (`none`, `console`, …) or
 * `OTEL_SDK_DISABLED=true`; with nothing set, off too — phasegate sends nothing unless asked.
 */
export type OtlpSignal = 'traces' | 'metrics';

/** The default OTLP/HTTP endpoint of the specification, for an exporter named with no endpoint. */
const DEFAULT_BASE = 'http://localhost:4318';

export function otlpEndpoint(env: NodeJS.ProcessEnv, signal: OtlpSignal): string | undefined {
  if (env.OTEL_SDK_DISABLED === 'true') return undefined;
  const upper = signal.toUpperCase();
  const exporters = (env[`OTEL_${upper}_EXPORTER`] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (exporters.length > 0 && !exporters.includes('otlp')) return undefined;
  const own = env[`OTEL_EXPORTER_OTLP_${upper}_ENDPOINT`];
  if (own) return own;
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT) return `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/${signal}`;
  return exporters.includes('otlp') ? `${DEFAULT_BASE}/v1/${signal}` : undefined;
}
