/**
 * How DuckDB's allocator gives memory back. On Linux DuckDB allocates through jemalloc, which
 * keeps the pages DuckDB frees for a while (by default about ten seconds) before returning them
 * to the system — and in a cascade DuckDB frees and takes tens of MB all the time (each commit's
 * staging and MERGE, each read), so the commit-gate process held ~150 MB beyond V8's heap and
 * DuckDB's own count on average, up to 275 MB at moments (bench:scale --memory-log). Returned at
 * once, the gate of a 1,700-date cascade peaked at 335.8–343.4 MB against 397–400 MB (1 s
 * instead: 368.6 MB). It costs time where CPU sets the pace: that cascade at × 100 took 259 s
 * against 206 s (one run each; docs/bench-scale.md), and a deployment with the memory to spare
 * can set the variable to jemalloc's own pace (`dirty_decay_ms:10000,muzzy_decay_ms:10000`).
 *
 * DuckDB passes `DUCKDB_JE_MALLOC_CONF` to jemalloc as its options
 * (duckdb.org/docs/current/internals/jemalloc; the options: jemalloc.net/jemalloc.3.html,
 * `opt.dirty_decay_ms`, `opt.muzzy_decay_ms`), and jemalloc reads them once, when DuckDB's
 * library loads — set later, they change nothing (measured). So this module sets it, unless the
 * environment does, and every module that loads `@duckdb/node-api` imports it first (a new one
 * must too: whichever loads DuckDB first decides); capped worker processes also get it in their
 * environment (src/cli/worker-heap.ts).
 */
export const DUCKDB_ALLOCATOR_CONF = 'dirty_decay_ms:0,muzzy_decay_ms:0';

process.env.DUCKDB_JE_MALLOC_CONF ??= DUCKDB_ALLOCATOR_CONF;
