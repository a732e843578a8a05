/**
 * Tests that talk HTTP stay on this machine: `loopbackOnly()` lets a `describe` block reach
 * the loopback only (Redis, the in-process fakes) and fails it on any request beyond; `readBody`
 * is how an in-process fake (test/pubsub-fake.ts, test/otlp-receiver.ts) reads a request.
 */
import type { IncomingMessage } from 'node:http';
import { expect } from 'chai';
import nock from 'nock';

const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost)(:\d+)?$/;

/**
 * Installs nock for a `describe` block with the network refused but the loopback: before/after
 * hooks that (de)activate it; after the block, any request that went beyond the loopback fails it.
 */
export function loopbackOnly(): void {
  const elsewhere: string[] = [];
  const onNoMatch = (req: { method?: string; url?: string; path?: string; host?: string; hostname?: string }) => {
    const url = String(req.url ?? req.path ?? '');
    if (!/^https?:\/\/(127\.0\.0\.1|localhost)[:/]/.test(url) && !/^(127\.0\.0\.1|localhost)$/.test(String(req.hostname ?? req.host ?? '')))
      elsewhere.push(`${req.method} ${url}`);
  };
  before(() => {
    if (!nock.isActive()) nock.activate();
    nock.disableNetConnect();
    nock.enableNetConnect(LOOPBACK_HOST);
    nock.emitter.on('no match', onNoMatch);
  });
  after(() => {
    nock.emitter.removeListener('no match', onNoMatch);
    nock.enableNetConnect();
    expect(elsewhere, 'requests beyond the loopback').to.deep.equal([]);
  });
}

/** A request's whole body, as UTF-8 text. */
export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
