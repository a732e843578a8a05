/**
 * The production box-score source: the HTTP scraper service, one JSON POST per file,
 * `{scraper, date, game_id}`. Server errors, timeouts and dropped connections are retried
 * with exponential backoff; a 4xx is not (the same request would fail again).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError } from '../errors/config-error.ts';
import { InputError } from '../errors/input-error.ts';
import { ScraperServiceError } from '../errors/scraper-service-error.ts';
import { parseGameId, seasonStartYearOfDate } from '../processors/game-id.ts';
import type { BoxscoreSource, ScheduledGame } from '../processors/types.ts';
import { redact } from '../redact.ts';
import { parseServiceSchedule } from './service-schedule.ts';

export type ScraperName = 'nbac_player_boxscore' | 'nbac_team_boxscore' | 'nbac_schedule';

export interface ScraperServiceOptions {
  /** The service's endpoint (`PHASEGATE_SCRAPER_URL`). */
  url: string;
  /** How long one request may take, body included (`PHASEGATE_SCRAPER_TIMEOUT_SECONDS`). @defaultValue 180000 */
  timeoutMs?: number;
  /** Requests per call before giving up. @defaultValue 4 */
  attempts?: number;
  /** Wait before the first retry, doubled for each later one. @defaultValue 1000 */
  backoffMs?: number;
  /** Longest wait between two attempts. @defaultValue 30000 */
  maxBackoffMs?: number;
}

export const SCRAPER_SERVICE_DEFAULTS = {
  // The service scrapes stats.nba.com live, which can take minutes when NBA.com throttles.
  timeoutMs: 180_000,
  attempts: 4,
  backoffMs: 1_000,
  maxBackoffMs: 30_000,
} satisfies Required<Omit<ScraperServiceOptions, 'url'>>;

// 408 and 429 are the two 4xx answers that mean "later", not "never".
const RETRYABLE_STATUS = (status: number) => status >= 500 || status === 408 || status === 429;

/** Why a request failed without an HTTP answer, in a few words. */
function transportFailure(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `timed out after ${timeoutMs} ms`;
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}

/**
 * The endpoint, checked once: a wrong URL is a configuration error, reported at start (exit 2),
 * never a failure retried per request. fetch refuses a URL with `user:password@` ("Request
 * cannot be constructed from a URL that includes credentials"), so such a URL could only fail
 * every attempt — quoting the password each time. Messages show the URL through `redact`.
 */
function serviceUrl(raw: string): string {
  const what = `PHASEGATE_SCRAPER_URL: must be the scraper service's URL when PHASEGATE_SOURCE=service`;
  if (!URL.canParse(raw)) throw new ConfigError(`${what} (got ${JSON.stringify(redact(raw))})`);
  const url = new URL(raw);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`${what}, http or https (got ${redact(raw)})`);
  if (url.username || url.password) {
    throw new ConfigError(
      `PHASEGATE_SCRAPER_URL: credentials in the URL are not sent (fetch refuses a URL with user:password@); remove them and let the service take a key in the query (got ${redact(raw)})`,
    );
  }
  return url.toString();
}

export class ScraperServiceSource implements BoxscoreSource {
  readonly url: string;
  private readonly opts: Required<Omit<ScraperServiceOptions, 'url'>>;
  /** One schedule request per season: `nbac_schedule` answers with the whole season. */
  private readonly seasons = new Map<number, Promise<ScheduledGame[]>>();

  constructor(options: ScraperServiceOptions) {
    this.url = serviceUrl(options.url);
    const { url: _url, ...rest } = options;
    this.opts = { ...SCRAPER_SERVICE_DEFAULTS, ...Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) };
    if (!(this.opts.attempts >= 1)) throw new ConfigError(`scraper service attempts must be at least 1 (got ${this.opts.attempts})`);
  }

  /**
   * One scraper call: the parsed JSON body, or null when the service has nothing (404, or
   * an empty body). Throws ScraperServiceError when it gives up.
   */
  async call(scraper: ScraperName, params: { date: string; game_id?: string }): Promise<unknown | null> {
    const what = `${scraper} ${params.game_id ?? params.date}`;
    const body = JSON.stringify({ scraper, ...params });
    let lastFailure = '';
    let lastStatus: number | undefined;
    for (let attempt = 1; attempt <= this.opts.attempts; attempt++) {
      try {
        const res = await fetch(this.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body,
          // One clock for the headers and the body: a service that stalls mid-body times out too.
          signal: AbortSignal.timeout(this.opts.timeoutMs),
        });
        const text = await res.text();
        if (res.status === 404) return null;
        lastStatus = res.status;
        if (res.ok) {
          if (text.trim() === '') return null;
          try {
            return JSON.parse(text) as unknown;
          } catch {
            // A proxy's maintenance page or a body cut short answers 200 too: tried again, like a 503.
            lastFailure = `HTTP ${res.status} body is not JSON: ${redact(text.slice(0, 80))}`;
          }
        } else {
          lastFailure = `HTTP ${res.status} ${res.statusText}${text ? `: ${redact(text.slice(0, 120))}` : ''}`;
          if (!RETRYABLE_STATUS(res.status)) {
            throw new ScraperServiceError(`scraper service ${what}: ${lastFailure}`, { retryable: false, status: res.status, attempts: attempt });
          }
        }
      } catch (err) {
        if (err instanceof ScraperServiceError) throw err;
        lastStatus = undefined;
        lastFailure = redact(transportFailure(err, this.opts.timeoutMs));
      }
      if (attempt < this.opts.attempts) await sleep(Math.min(this.opts.maxBackoffMs, this.opts.backoffMs * 2 ** (attempt - 1)));
    }
    throw new ScraperServiceError(`scraper service ${what}: gave up after ${this.opts.attempts} attempts: ${lastFailure}`, {
      retryable: true,
      status: lastStatus,
      attempts: this.opts.attempts,
    });
  }

  private season(startYear: number, date: string): Promise<ScheduledGame[]> {
    let games = this.seasons.get(startYear);
    if (!games) {
      games = this.call('nbac_schedule', { date }).then((body) => (body === null ? [] : parseServiceSchedule(body, `nbac_schedule ${date}`)));
      // A failed request is not remembered: the next call asks again.
      games.catch(() => this.seasons.delete(startYear));
      this.seasons.set(startYear, games);
    }
    return games;
  }

  async gameDates(start: string, end: string): Promise<string[]> {
    if (start > end) throw new InputError(`start ${start} is after end ${end}`);
    const dates = new Set<string>();
    for (let y = seasonStartYearOfDate(start); y <= seasonStartYearOfDate(end); y++) {
      const first = start > `${y}-07-01` ? start : `${y}-07-01`;
      for (const g of await this.season(y, first)) if (g.gameDate >= start && g.gameDate <= end) dates.add(g.gameDate);
    }
    return [...dates].sort();
  }

  async games(date: string): Promise<ScheduledGame[]> {
    return (await this.season(seasonStartYearOfDate(date), date)).filter((g) => g.gameDate === date);
  }

  /** A season the service returns no schedule for is not covered (a date past the known seasons). */
  async covers(date: string): Promise<boolean> {
    return (await this.season(seasonStartYearOfDate(date), date)).length > 0;
  }

  async dateOfGame(gameId: string): Promise<string | undefined> {
    let year: number;
    try {
      year = parseGameId(gameId).seasonStartYear;
    } catch {
      return undefined;
    }
    return (await this.season(year, `${year}-10-01`)).find((g) => g.gameId === gameId)?.gameDate;
  }

  async playerBoxscore(game: ScheduledGame): Promise<unknown | null> {
    return this.call('nbac_player_boxscore', { date: game.gameDate, game_id: game.gameId });
  }

  async teamBoxscore(game: ScheduledGame): Promise<unknown | null> {
    return this.call('nbac_team_boxscore', { date: game.gameDate, game_id: game.gameId });
  }
}
