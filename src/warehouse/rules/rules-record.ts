/**
 * What the rules layer saw per table: the evidence a test or benchmark reads to show the
 * pipeline stayed inside BigQuery's limits (or, for the naive mode, where it tripped them).
 */
export interface TableRulesRecord {
  /** Most mutating DML statements running at once (BigQuery's limit: limits.ts). */
  peakRunningDml: number;
  /** Most mutating DML statements waiting at once (BigQuery's limit: limits.ts). */
  peakQueuedDml: number;
  /** Mutating DML statements that reached a running slot (including those that then failed). */
  dmlStatements: number;
  /** Of those, the ones that ran: not refused by the streaming buffer or a rate limit. */
  dmlExecuted: number;
  /** Table metadata update operations taken in the rate window (loads, writes, DDL). */
  tableOps: number;
  /** Load jobs attempted, failed ones included (they count against the daily quota too). */
  loadJobs: number;
  /** Streaming insert calls. */
  streamingInserts: number;
  /**
   * Query jobs reading slices' rows (`readSlices`, `readTables`: phases 3–5 reading their
   * inputs). On BigQuery each is a job of its own (latency, and billed at least 10 MB per table
   * it reads). A job reading several tables is counted once, on the first table it reads.
   */
  readJobs: number;
  /** Reads of this table's slices, each in a query job of its own or in one shared with other tables' reads (`readTables`). */
  tableReads: number;
  /** Query jobs checking the table: which slices hold rows, units' holdings (the commit path's integrity check, `--only-missing`). */
  checkJobs: number;
  /**
   * Every DML statement that ran (a commit's MERGE, an append table's INSERT, the naive mode's
   * DELETE), in the order they ended: when each started running and ended (epoch ms, real time)
   * and the slices it named.
   * A benchmark lays it beside its quota bound's schedule to see which table fell behind. A
   * long-lived process keeps the newest 2,000–4,000 (bigquery-rules-warehouse.ts).
   */
  timeline: StatementTime[];
  rejected: {
    /** Failed at once: the DML queue was full. */
    dmlOutstanding: number;
    /** Failed: too many table update operations in the window. */
    rateLimited: number;
    /** Failed: the statement would touch rows in the streaming buffer. */
    streamingBuffer: number;
    /** Failed: the table's daily load-job quota is used up. */
    dailyLoads: number;
    /** Failed: too many DML statements in the table's DML rate window. */
    dmlRate: number;
    /** Failed: the statement would modify more partitions than one job may. */
    partitions: number;
  };
}

export interface StatementTime {
  startedAt: number;
  endedAt: number;
  slices: number;
}

export function emptyRecord(): TableRulesRecord {
  return {
    peakRunningDml: 0,
    peakQueuedDml: 0,
    dmlStatements: 0,
    dmlExecuted: 0,
    tableOps: 0,
    loadJobs: 0,
    streamingInserts: 0,
    readJobs: 0,
    tableReads: 0,
    checkJobs: 0,
    timeline: [],
    rejected: { dmlOutstanding: 0, rateLimited: 0, streamingBuffer: 0, dailyLoads: 0, dmlRate: 0, partitions: 0 },
  };
}

export function copyRecord(record: TableRulesRecord): TableRulesRecord {
  return { ...record, timeline: record.timeline.map((t) => ({ ...t })), rejected: { ...record.rejected } };
}

/** Everything the rules layer recorded, per table (`dataset.table`). */
export interface RulesRecord {
  tables: Record<string, TableRulesRecord>;
}
