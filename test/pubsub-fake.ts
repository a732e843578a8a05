/**
 * Pub/Sub's REST publish endpoint (`POST /v1/projects/P/topics/T:publish`) as an in-process
 * HTTP server on a loopback port, for the client's REST transport: it records every message it
 * accepts and answers 503 UNAVAILABLE while `down` is set — an outage as the client sees it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PubSub } from '@google-cloud/pubsub';
import type { ServiceAccountKey } from './bigquery-nock.ts';
import { readBody } from './loopback.ts';

export interface ReceivedMessage {
  topic: string;
  messageId: string;
  attributes: Record<string, string>;
  orderingKey: string | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: the message body is JSON the assertions walk into.
  data: Record<string, any>;
}

export class FakePubSub {
  readonly received: ReceivedMessage[] = [];
  /** Publish requests answered, refused ones included. */
  requests = 0;
  refused = 0;
  down = false;
  /** Never answers a publish (a Pub/Sub that hangs) while set. */
  hang = false;
  private server: Server | undefined;
  private nextId = 1;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      void readBody(req).then((text) => {
        this.requests += 1;
        const m = /^\/v1\/(projects\/[^/]+\/topics\/[^/:?]+):publish(\?|$)/.exec(req.url ?? '');
        const send = (status: number, body: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        };
        if (req.method !== 'POST' || !m) return send(404, { error: { code: 404, message: `no route ${req.method} ${req.url}`, status: 'NOT_FOUND' } });
        if (!/^Bearer \S+$/.test(String(req.headers.authorization)))
          return send(401, { error: { code: 401, message: 'no credentials', status: 'UNAUTHENTICATED' } });
        if (this.hang) return;
        if (this.down) {
          this.refused += 1;
          return send(503, { error: { code: 503, message: 'The service is currently unavailable.', status: 'UNAVAILABLE' } });
        }
        const body = JSON.parse(text) as {
          messages: { data?: string; attributes?: Record<string, string>; orderingKey?: string }[];
        };
        const ids = body.messages.map((msg) => {
          const messageId = String(this.nextId++);
          this.received.push({
            topic: m[1] as string,
            messageId,
            attributes: msg.attributes ?? {},
            orderingKey: msg.orderingKey || undefined,
            data: JSON.parse(Buffer.from(msg.data ?? '', 'base64').toString('utf8')),
          });
          return messageId;
        });
        send(200, { messageIds: ids });
      });
    });
    const server = this.server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** A client of this server over the REST transport, signing with a throwaway key. */
  client(endpoint: string, projectId: string, credentials: ServiceAccountKey): PubSub {
    // `fallback` and `protocol` are google-gax options passed through to the generated clients.
    const settings = { projectId, apiEndpoint: endpoint, fallback: true, protocol: 'http', credentials } as ConstructorParameters<typeof PubSub>[0];
    return new PubSub(settings);
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    // A request left unanswered (`hang`) would keep close() waiting for its connection.
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
