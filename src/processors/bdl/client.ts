/**
 * balldontlie's API through its official SDK (`@balldontlie/sdk`): the SDK builds the
 * requests (`getStats` with cursor pagination); this subclass only replaces its transport so
 * that a refusal keeps its status and `Retry-After` (the SDK's own APIError drops headers, and
 * a 429 must wait as long as the API says). Errors say whether to retry:
 * - 401/403: the key is wrong → ConfigError naming PHASEGATE_BDL_API_KEY (no retry);
 * - 429: RateLimitedError with the wait → the scraper queue's BullMQ rate limiter pauses;
 * - 5xx and network errors: retried here with backoff, then TransientError (BullMQ retries).
 * https://docs.balldontlie.io (Authentication, Pagination, Rate limits)
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { NBAClient } from '@balldontlie/sdk/dist/nba.js';
import { ConfigError } from '../../errors/config-error.ts';
import { InputError } from '../../errors/input-error.ts';
import { RateLimitedError } from '../../errors/rate-limited-error.ts';
import { SourceUnavailableError } from '../../errors/source-error.ts';
import type { SourceClientDef } from '../types.ts';
import { type BdlSource, type BdlStat, bdlStatSchema } from './stats.ts';

export interface BdlClientOptions {
  apiKey: string;
  /** @defaultValue https://api.balldontlie.io */
  baseUrl?: string;
  /** Tries of one page on 5xx or a network error. @defaultValue 3 */
  attempts?: number;
  /** First backoff between tries, doubling. @defaultValue 500 */
  backoffMs?: number;
  /** Rows per page; the API allows at most 100. @defaultValue 100 */
  perPage?: number;
}

class KeepHeadersClient extends NBAClient {
  constructor(
    config: { apiKey: string; baseUrl?: string },
    private readonly opts: Required<Pick<BdlClientOptions, 'attempts' | 'backoffMs'>>,
  ) {
    super(config);
  }

  protected override async request<T>(path: string, options: RequestInit = {}): Promise<T> {
    let last = '';
    for (let attempt = 1; attempt <= this.opts.attempts; attempt++) {
      let res: Response;
      try {
        res = await fetch(`${this.baseUrl}${path}`, { ...options, headers: { ...this.headers, ...(options.headers as Record<string, string>) } });
      } catch (err) {
        last = `request failed: ${(err as Error).message}`;
        if (attempt < this.opts.attempts) await sleep(this.opts.backoffMs * 2 ** (attempt - 1));
        continue;
      }
      if (res.ok) return (await res.json()) as T;
      const body = (await res.text()).slice(0, 200);
      if (res.status === 401 || res.status === 403) {
        throw new ConfigError(`PHASEGATE_BDL_API_KEY: balldontlie refused the key (HTTP ${res.status}); set a valid API key`);
      }
      if (res.status === 429) throw new RateLimitedError(`balldontlie rate limit (HTTP 429): ${body}`, retryAfterMs(res.headers.get('retry-after')));
      if (res.status < 500) throw new InputError(`balldontlie answered HTTP ${res.status} for ${path}: ${body}`);
      last = `HTTP ${res.status}: ${body}`;
      if (attempt < this.opts.attempts) await sleep(this.opts.backoffMs * 2 ** (attempt - 1));
    }
    throw new SourceUnavailableError(`balldontlie ${path}: gave up after ${this.opts.attempts} tries: ${last}`);
  }
}

/** `Retry-After` in seconds or as an HTTP date; a minute when absent (the API's window). */
export function retryAfterMs(header: string | null, now = Date.now()): number {
  if (header === null || header.trim() === '') return 60_000;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, at - now) : 60_000;
}

export class BdlApiSource implements BdlSource {
  private readonly client: KeepHeadersClient;
  private readonly perPage: number;

  constructor(opts: BdlClientOptions) {
    if (!opts.apiKey) throw new ConfigError('PHASEGATE_BDL_API_KEY: required to scrape balldontlie (the fallback source)');
    this.client = new KeepHeadersClient(
      { apiKey: opts.apiKey, ...(opts.baseUrl ? { baseUrl: opts.baseUrl } : {}) },
      { attempts: opts.attempts ?? 3, backoffMs: opts.backoffMs ?? 500 },
    );
    this.perPage = opts.perPage ?? 100;
  }

  /** Every page of the date's stats, following `meta.next_cursor` until there is none. */
  async bdlStats(date: string): Promise<BdlStat[]> {
    const rows: BdlStat[] = [];
    let cursor: number | undefined;
    for (let page = 0; page < 1000; page++) {
      const res = await this.client.getStats({ dates: [date], per_page: this.perPage, ...(cursor !== undefined ? { cursor } : {}) });
      for (const raw of res.data) {
        const parsed = bdlStatSchema.safeParse(raw);
        if (!parsed.success) throw new InputError(`balldontlie stats for ${date}: unexpected row shape: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
        rows.push(parsed.data);
      }
      cursor = res.meta?.next_cursor ?? undefined;
      if (cursor === undefined || cursor === null) return rows;
    }
    throw new SourceUnavailableError(`balldontlie stats for ${date}: more than 1000 pages`);
  }
}

/** balldontlie's client: the API with the configured key (`PHASEGATE_BDL_API_KEY`). */
export const bdlClient: SourceClientDef<BdlSource> = {
  source: 'bdl',
  create: (config) => new BdlApiSource({ apiKey: config.bdl.apiKey ?? '' }),
};
