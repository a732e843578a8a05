/**
 * A run's record: what a backfill (a cascade, an audit's repair, a retry) asked for, written
 * once when it starts and never changed — its graph (graph.ts) is derived from it.
 */
export interface BackfillRecord {
  id: string;
  createdAt: string;
  processors: string[];
  dates: string[];
  priority: number;
  cascade: boolean;
  allowShrink?: boolean | undefined;
  allowMove?: boolean | undefined;
  /** A retry's own dates per processor (`--retry-failed`); without it every processor runs `dates`. */
  only?: Record<string, string[]> | undefined;
  /** Downstream processors started directly for some dates (a resumed cascade, `--only-missing`). */
  startDownstream?: Record<string, string[]> | undefined;
}
