/**
 * Liveness of what the dashboard and the pipeline stand on: Redis and the warehouse.
 *
 * The warehouse is checked with a trivial query when this process already holds it (demo)
 * or when it is a service any process may query (BigQuery: a client, no lock). A warehouse
 * that is a file one process holds (the embedded DuckDB, its declared `heldFile`) and that this
 * process has not opened is only checked for presence: that process is the workers'.
 */

import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import { TransientError } from '../../errors/transient-error.ts';
import { log } from '../../log.ts';
import type { Runtime } from '../../runtime.ts';
import { warehouseDeclaration } from '../../warehouse/index.ts';

export type Check = 'ok' | 'unreachable';

export interface Health {
  ok: boolean;
  redis: Check;
  warehouse: Check;
  /** How the warehouse was checked. */
  warehouseCheck: 'query' | 'file';
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TransientError(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

async function redisCheck(rt: Runtime, timeoutMs: number): Promise<Check> {
  try {
    const pong = await withTimeout(rt.redis.ping(), timeoutMs, 'redis ping');
    return pong === 'PONG' ? 'ok' : 'unreachable';
  } catch (err) {
    log.warn(`healthz: redis: ${(err as Error).message}`);
    return 'unreachable';
  }
}

/**
 * The file exists once the workers created a table; before that, the workers must be able to
 * create it: the nearest existing folder on its path is writable.
 */
async function heldFileCheck(file: string): Promise<void> {
  try {
    await access(file, constants.R_OK);
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    try {
      await access(dir, constants.W_OK);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || path.dirname(dir) === dir) throw err;
    }
  }
}

async function warehouseCheck(rt: Runtime, timeoutMs: number): Promise<{ result: Check; how: Health['warehouseCheck'] }> {
  const opened = rt.openedWarehouse();
  const file = opened ? undefined : warehouseDeclaration(rt.config).heldFile?.(rt.config);
  const how = file === undefined ? 'query' : 'file';
  try {
    if (file === undefined) {
      const w = opened ?? (await withTimeout(rt.warehouse(), timeoutMs, 'warehouse open'));
      await withTimeout(w.query('SELECT 1 AS ok'), timeoutMs, 'warehouse query');
    } else {
      await heldFileCheck(file);
    }
    return { result: 'ok', how };
  } catch (err) {
    log.warn(`healthz: warehouse: ${(err as Error).message}`);
    return { result: 'unreachable', how };
  }
}

export async function health(rt: Runtime, timeoutMs = 3000): Promise<Health> {
  const [redis, warehouse] = await Promise.all([redisCheck(rt, timeoutMs), warehouseCheck(rt, timeoutMs)]);
  return { ok: redis === 'ok' && warehouse.result === 'ok', redis, warehouse: warehouse.result, warehouseCheck: warehouse.how };
}
