/**
 * What Bull Board may change, decided on each API call by Bull Board's own handler hooks — so
 * the decision is made on the route Bull Board actually matched, whatever the spelling of the
 * URL — and written to the audit log.
 *
 * - Read-only dashboard: every change is refused (403); app.ts also refuses every unsafe
 *   method under /queues before Bull Board sees it.
 * - Table gates (commit queues): their caps — global concurrency and rate limit, set by
 *   QueueSet.applyTableCaps — and their run state are phasegate's, so only retrying failed
 *   jobs and promoting delayed ones is allowed; setting concurrency or a rate limit, releasing
 *   the rate limit, pausing, resuming, emptying, cleaning, obliterating, adding or editing jobs
 *   answer 403 with the reason as JSON.
 * - Board-wide changes (pause all, resume all) would reach the gates too: refused; pause or
 *   resume the phase queues one at a time.
 * - Phase queues: everything Bull Board offers; a job added there must name a processor the
 *   queue runs and a date (400 otherwise, logged), or it would fail on every attempt.
 */
import type { createBullBoard } from '@bull-board/api';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { log } from '../log.ts';
import { commitQueueName } from '../queues/names.ts';
import { authOf, clientOf, type DashboardContext } from './context.ts';
import { recordAudit } from './data/audit.ts';

type BoardOptions = NonNullable<Parameters<typeof createBullBoard>[0]['options']>;
export type BoardHooks = NonNullable<BoardOptions['handlerHooks']>;
type HookContext = Parameters<NonNullable<BoardHooks['before']>>[0];

/** Changes a table gate allows, by Bull Board route (method and pattern). */
const GATE_ALLOWED = new Set([
  'put /api/queues/:queueName/:jobId/retry',
  'put /api/queues/:queueName/retry/:queueStatus',
  'put /api/queues/:queueName/:jobId/promote',
  'put /api/queues/:queueName/promote',
]);

/** Who made a Bull Board call: Bull Board hands its hooks the request's headers object, not the request. */
const actors = new WeakMap<object, { who: string; client: string }>();

/** Remembers who is calling, for the hooks (mounted right before Bull Board's router). */
export function rememberActor(): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    actors.set(req.headers, { who: authOf(res)?.who ?? 'unknown', client: clientOf(req) });
    next();
  };
}

type Verdict = { allow: true } | { allow: false; reason: string; status?: 400 | 403 };

/** What a job added through Bull Board carries (its form sends `data` as an object, or as JSON text). */
function addedData(body: unknown): Record<string, unknown> {
  const data = (body as { data?: unknown } | undefined)?.data;
  if (typeof data === 'string') {
    try {
      return (JSON.parse(data) as Record<string, unknown> | null) ?? {};
    } catch {
      return {};
    }
  }
  return data && typeof data === 'object' ? (data as Record<string, unknown>) : {};
}

function summarize(ctx: HookContext): { action: string; target: string } {
  const p = ctx.request.params as Record<string, unknown>;
  const parts = [
    typeof p.queueName === 'string' ? p.queueName : 'all queues',
    typeof p.jobId === 'string' ? `job ${p.jobId}` : undefined,
    typeof p.queueStatus === 'string' ? `(${p.queueStatus})` : undefined,
    typeof p.schedulerId === 'string' ? `scheduler ${p.schedulerId}` : undefined,
  ];
  const body = ctx.request.body && Object.keys(ctx.request.body).length > 0 ? JSON.stringify(ctx.request.body).slice(0, 200) : undefined;
  return { action: `bull-board ${ctx.method.toUpperCase()} ${ctx.route}`, target: [...parts, body].filter((s) => s !== undefined).join(' ') };
}

export function bullBoardHooks(c: DashboardContext): BoardHooks {
  // Every gated table (the log tables' too, should Bull Board ever list them), by queue name.
  const gates = new Map(c.rt.registry.gatedTables().map((table) => [commitQueueName(table), { queue: c.rt.queues.commit(table) }]));

  // Phase and source queues, by name: the processors each one runs.
  const phaseQueues = new Map<string, string[]>();
  for (const def of c.rt.registry.all()) {
    const name = c.rt.queues.of(def).name;
    phaseQueues.set(name, [...(phaseQueues.get(name) ?? []), def.name]);
  }

  /** Why a job added to a phase queue could never run, or undefined when it can. */
  function badPhaseJob(queueName: string, data: Record<string, unknown>): string | undefined {
    const runs = phaseQueues.get(queueName) ?? [];
    const processor = data.processor;
    if (typeof processor !== 'string' || !runs.includes(processor)) {
      const named = typeof processor === 'string' ? `"${processor}"` : 'no processor';
      return `a job on ${queueName} names ${named} in data.processor; this queue runs ${runs.join(', ')}`;
    }
    if (typeof data.slice !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(data.slice)) return `a job on ${queueName} needs data.slice, a game date (YYYY-MM-DD)`;
    return undefined;
  }

  async function judge(ctx: HookContext): Promise<Verdict> {
    if (c.opts.readOnly) return { allow: false, reason: 'this dashboard is read-only (PHASEGATE_DASHBOARD_READ_ONLY)' };
    const p = ctx.request.params as Record<string, unknown>;
    const queueName = typeof p.queueName === 'string' ? p.queueName : undefined;
    if (queueName === undefined) {
      return {
        allow: false,
        reason: `${ctx.method.toUpperCase()} ${ctx.route} acts on every queue, the table gates included, whose run state phasegate owns; pause or resume the phase queues one at a time`,
      };
    }
    const gate = gates.get(queueName);
    if (!gate) {
      // A job no worker can run would fail on every attempt, and nothing would say why.
      if (`${ctx.method} ${ctx.route}` === 'post /api/queues/:queueName/add' && phaseQueues.has(queueName)) {
        const bad = badPhaseJob(queueName, addedData(ctx.request.body));
        if (bad) return { allow: false, status: 400, reason: bad };
      }
      return { allow: true };
    }
    const why = `${queueName} is a table gate: its concurrency, rate limit, run state and jobs are phasegate's (PHASEGATE_TABLE_* settings); only retrying failed jobs and promoting delayed ones is allowed here`;
    const key = `${ctx.method} ${ctx.route}`;
    if (!GATE_ALLOWED.has(key)) return { allow: false, reason: why };
    if (key === 'put /api/queues/:queueName/retry/:queueStatus' && p.queueStatus !== 'failed') return { allow: false, reason: why };
    if (key === 'put /api/queues/:queueName/:jobId/retry') {
      const state = typeof p.jobId === 'string' ? await gate.queue.getJobState(p.jobId) : 'unknown';
      // An unknown job goes on to Bull Board's 404.
      if (state !== 'failed' && state !== 'unknown') return { allow: false, reason: `${why} (this job is ${state})` };
    }
    return { allow: true };
  }

  async function audit(ctx: HookContext, outcome: string): Promise<void> {
    const actor = actors.get(ctx.request.headers) ?? { who: 'unknown', client: 'unknown' };
    try {
      await recordAudit(c, { ...actor, ...summarize(ctx), outcome });
    } catch (err) {
      log.error(`dashboard audit: could not record ${summarize(ctx).action} by ${actor.who}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  return {
    before: async (ctx) => {
      if (ctx.method === 'get') return;
      const verdict = await judge(ctx);
      if (verdict.allow) return;
      const status = verdict.status ?? 403;
      const actor = actors.get(ctx.request.headers)?.who ?? 'unknown';
      if (status === 400) log.warn(`dashboard: refused ${summarize(ctx).action} by ${actor}: ${verdict.reason}`);
      await audit(ctx, `refused (${status}): ${verdict.reason}`);
      return { allow: false, status, message: verdict.reason };
    },
    after: async (ctx, result) => {
      if (ctx.method !== 'get') {
        const status = result.status ?? 200;
        await audit(ctx, status < 400 ? `ok (${status})` : `failed (${status})`);
      }
      return result;
    },
  };
}
