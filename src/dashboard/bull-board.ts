/**
 * Bull Board at /queues: every phase queue and every table commit queue, with readable
 * names. Mounted behind the same authentication as every other page (see app.ts); what it may
 * change is decided by the hooks of bull-board-policy.ts. Its page is served without the
 * link to a public font host it ships with (and under BULL_BOARD_CSP), so it makes no request
 * beyond this server.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import type { PipelineContext } from '../queues/context.ts';
import type { BoardHooks } from './bull-board-policy.ts';
import { dashboardQueues } from './data/queue-list.ts';

type ServerAdapter = Parameters<typeof createBullBoard>[0]['serverAdapter'];

export const BULL_BOARD_PATH = '/queues';

/** A `<link>` to another origin (absolute or protocol-relative href): Bull Board's page links IBM Plex from a public font host. */
const OUTSIDE_LINK = /<link\b[^>]*\bhref\s*=\s*["']?(?:https?:)?\/\/[^>]*>\s*/gi;

/** An HTML page without its links to other origins (their fonts fall back to the system's). */
export function withoutOutsideLinks(page: string): string {
  return page.replace(OUTSIDE_LINK, '');
}

/** Rewrites the HTML pages Bull Board sends (its entry page) without links to other origins. */
export function bullBoardOffline(): RequestHandler {
  return (_req: Request, res: Response, next: NextFunction) => {
    const send = res.send.bind(res);
    res.send = ((body?: unknown) => send(typeof body === 'string' && /^\s*<!doctype html/i.test(body) ? withoutOutsideLinks(body) : body)) as Response['send'];
    next();
  };
}

export function bullBoardRouter(ctx: PipelineContext, opts: { readOnly: boolean; hooks?: BoardHooks | undefined }): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: dashboardQueues(ctx).map(
      (q) =>
        new BullMQAdapter(q.queue, {
          displayName: q.displayName,
          description: q.description,
          readOnlyMode: opts.readOnly,
          // A failed phase job is retried through phasegate's pages or Bull Board alike: the
          // job id is deterministic, so a retry never queues the same work twice.
          allowRetries: !opts.readOnly,
        }),
    ),
    // @bull-board/express ships its own copy of @bull-board/api's type declarations (9.10.1 vs
    // 9.10.2), whose private fields make the same class look different to TypeScript; the
    // runtime objects are the ones createBullBoard expects.
    serverAdapter: serverAdapter as unknown as ServerAdapter,
    options: {
      ...(opts.hooks ? { handlerHooks: opts.hooks } : {}),
      uiConfig: {
        boardTitle: 'phasegate queues',
        miscLinks: [
          { text: 'phasegate overview', url: '/' },
          { text: 'Table gates', url: '/tables' },
          { text: 'Failures', url: '/failures' },
        ],
      },
    },
  });
  // getRouter() is typed `any` by @bull-board/express; it is an express application.
  return serverAdapter.getRouter() as Router;
}
