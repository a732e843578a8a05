/**
 * An OTLP/HTTP trace receiver on a loopback port, as a collector would be: it accepts the
 * exporter's JSON export (`POST /v1/traces`) and keeps every span, decoded, for a test to walk.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody } from './loopback.ts';

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  attributes: Record<string, string | number | boolean>;
  links: { traceId: string; spanId: string }[];
  status: number;
}

type AnyValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };

function decodeValue(v: AnyValue): string | number | boolean {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  return v.boolValue ?? '';
}

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  requests = 0;
  private server: Server | undefined;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      void readBody(req).then((text) => {
        this.requests += 1;
        if (req.method !== 'POST' || req.url !== '/v1/traces' || !String(req.headers['content-type']).includes('json')) {
          res.writeHead(415).end();
          return;
        }
        const body = JSON.parse(text) as {
          resourceSpans?: { scopeSpans?: { spans?: Record<string, unknown>[] }[] }[];
        };
        for (const rs of body.resourceSpans ?? [])
          for (const ss of rs.scopeSpans ?? [])
            for (const s of ss.spans ?? []) {
              const attrs = (s.attributes as { key: string; value: AnyValue }[] | undefined) ?? [];
              this.spans.push({
                traceId: String(s.traceId),
                spanId: String(s.spanId),
                parentSpanId: s.parentSpanId ? String(s.parentSpanId) : undefined,
                name: String(s.name),
                attributes: Object.fromEntries(attrs.map((a) => [a.key, decodeValue(a.value)])),
                links: ((s.links as { traceId: string; spanId: string }[] | undefined) ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId })),
                status: Number((s.status as { code?: number } | undefined)?.code ?? 0),
              });
            }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    const server = this.server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  byId(spanId: string | undefined): ReceivedSpan | undefined {
    return spanId ? this.spans.find((s) => s.spanId === spanId) : undefined;
  }

  /** The span and its ancestors, nearest first. */
  ancestry(span: ReceivedSpan): ReceivedSpan[] {
    const out = [span];
    for (let p = this.byId(span.parentSpanId); p && out.length < 100; p = this.byId(p.parentSpanId)) out.push(p);
    return out;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
