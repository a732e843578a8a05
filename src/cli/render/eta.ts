/**
 * When a bar will be full, from how fast it filled lately. Unknown (`undefined`, shown as `–`)
 * until the bar has moved twice — a downstream phase waits for its upstream before it moves
 * at all, so a rate counted from the start would say nothing — and again after a stall.
 */

/** Moves older than this do not count: a rate from a minute ago says little about now. */
const WINDOW_MS = 60_000;

export class EtaEstimator {
  private seen: number | undefined;
  private readonly moves: { at: number; done: number }[] = [];

  /** Records `done` of `total` at `now`; returns the milliseconds left, or undefined while unknown. */
  update(done: number, total: number, now: number): number | undefined {
    if (this.seen !== undefined && done !== this.seen) this.moves.push({ at: now, done });
    this.seen = done;
    while (this.moves.length > 2 && now - (this.moves[0]?.at ?? now) > WINDOW_MS) this.moves.shift();
    if (done >= total) return 0;
    const first = this.moves[0];
    const last = this.moves.at(-1);
    if (!first || !last || first === last || now - last.at > WINDOW_MS) return undefined;
    const perMs = (last.done - first.done) / (last.at - first.at);
    return perMs > 0 ? (total - done) / perMs : undefined;
  }
}
