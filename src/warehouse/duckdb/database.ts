/**
 * The DuckDB database a warehouse runs on: its instance and connections — the writer, the
 * reader, and the read relay's guest — each running one statement at a time, and what follows
 * a fatal error.
 *
 * DuckDB invalidates a database after a fatal error (a checkpoint that could not write the
 * file, on a full disk or out of memory) and answers every later statement with the same
 * error; to go on, "start a new DuckDB session on the same database"
 * (duckdb.org/docs/stable/dev/internal_errors). So the statement that met it fails as a
 * transient error (the job retries it; neither the statement nor its input is at fault), and
 * the next statement first closes the instance and opens the file again — DuckDB replays its
 * log, so every commit it acknowledged is there. While that fails (the disk is still full) each
 * statement fails the same way, saying why, and the one after tries again. A `:memory:`
 * database cannot be reopened (its data lived in the instance): it stays failed.
 */
// Before DuckDB's library loads: it sets how DuckDB's allocator returns memory (allocator.ts).
import './allocator.ts';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { InputError } from '../../errors/input-error.ts';
import { IntegrityGuardError } from '../../errors/integrity-guard-error.ts';
import { toError } from '../../errors/phasegate-error.ts';
import type { WarehouseError } from '../../errors/warehouse-error.ts';
import { WarehouseInvalidatedError } from '../../errors/warehouse-invalidated-error.ts';
import { log } from '../../log.ts';
import { fromDuckDBError } from './duckdb-errors.ts';
import { type GuestReader, guestReader } from './guest-reader.ts';
import { Mutex } from './mutex.ts';
import { LOCK_DOWN_SQL, SET_UTC_SQL } from './sql.ts';

export interface DatabaseOptions {
  /** The database file, or `:memory:`. */
  path: string;
  /** DuckDB settings given at creation (a read-only open's are locked right after). */
  settings: Record<string, string>;
  /** Opened read-only: its configuration is locked (LOCK_DOWN_SQL) once it is open. */
  readOnly: boolean;
}

/** One opening of the file: the instance and its connections. */
interface Handles {
  instance: DuckDBInstance;
  writer: DuckDBConnection;
  reader: DuckDBConnection;
  /** The read relay's connection, opened on first use. */
  guest?: Promise<DuckDBConnection>;
  closed?: boolean;
}

async function openHandles(opts: DatabaseOptions): Promise<Handles> {
  const instance = await DuckDBInstance.create(opts.path, opts.settings);
  const writer = await instance.connect();
  const reader = await instance.connect();
  for (const conn of [writer, reader]) await conn.run(SET_UTC_SQL);
  // After the time zone (its ICU extension may need loading): then no read_csv('/etc/passwd'),
  // read_text, glob, ATTACH, COPY or extension loading from a query, and no SET undoing it.
  if (opts.readOnly) for (const sql of LOCK_DOWN_SQL) await writer.run(sql);
  return { instance, writer, reader };
}

/** Releases an opening's connections and instance, in reverse order of opening; an invalidated one's too. */
async function closeHandles(h: Handles): Promise<void> {
  if (h.closed) return;
  h.closed = true;
  const guest = await h.guest?.catch(() => undefined);
  for (const close of [() => guest?.closeSync(), () => h.reader.closeSync(), () => h.writer.closeSync(), () => h.instance.closeSync()]) {
    try {
      close();
    } catch {
      // An invalidated database may refuse to close cleanly: what it held is let go regardless.
    }
  }
}

export class DuckDBDatabase {
  readonly path: string;
  private readonly options: DatabaseOptions;
  private handles: Handles;
  /** The opening a fatal error invalidated, and that error, until the file is open again. */
  private broken: { error: WarehouseInvalidatedError; handles: Handles } | undefined;
  private readonly writeLock = new Mutex();
  private readonly readLock = new Mutex();
  private readonly guestLock = new Mutex();
  /** A read relay serves from this database: a reopened one puts the guest's fence up again at once. */
  private guestWanted = false;

  private constructor(options: DatabaseOptions, handles: Handles) {
    this.path = options.path;
    this.options = options;
    this.handles = handles;
  }

  static async open(options: DatabaseOptions): Promise<DuckDBDatabase> {
    return new DuckDBDatabase(options, await openHandles(options));
  }

  /** Runs `fn` on the writer, after every earlier write. DuckDB's errors come back as warehouse errors. */
  write<T>(table: string | undefined, fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    return this.run(this.writeLock, (h) => h.writer, table, fn, false);
  }

  /** Runs `fn` on the reader (MVCC: it sees the last committed state, never waits behind a write). */
  read<T>(table: string | undefined, fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    return this.run(this.readLock, (h) => h.reader, table, fn, true);
  }

  /**
   * `fn` on the current opening's connection `pick` names, under its lock; a read's bad input
   * (InputError: a person's query) and a guarded commit's verdict (IntegrityGuardError) pass as they are.
   */
  private async run<T>(
    lock: Mutex,
    pick: (h: Handles) => DuckDBConnection,
    table: string | undefined,
    fn: (conn: DuckDBConnection) => Promise<T>,
    passInput: boolean,
  ): Promise<T> {
    await this.mend();
    let used: Handles | undefined;
    try {
      return await lock.run(() => {
        used = this.handles;
        return fn(pick(used));
      });
    } catch (err) {
      if ((passInput && err instanceof InputError) || err instanceof IntegrityGuardError) throw err;
      throw this.failed(err, used, table);
    }
  }

  /**
   * The read relay's reader: its own connection, so a person's slow query never waits behind a
   * commit nor holds up the gate's reads (a read-only database runs it on its reader). Opening
   * the connection shuts external access for the whole database — the same fence as
   * `phasegate sql`'s read-only open — so phasegate's own statements, which never need files
   * (staged rows come in through the appender), lose nothing.
   */
  async guestReader(assertOpen: () => void): Promise<GuestReader> {
    const lock = this.options.readOnly ? this.readLock : this.guestLock;
    if (!this.options.readOnly) {
      this.guestWanted = true;
      // Now, not at the first query: the fence stands from the moment the relay serves.
      await this.mend();
      await this.guestConnection(this.handles);
    }
    // The opening the last query ran on: a fatal error marks that one, as `run` does.
    let used = this.handles;
    const conn = async (): Promise<DuckDBConnection> => {
      await this.mend();
      used = this.handles;
      return this.options.readOnly ? used.reader : this.guestConnection(used);
    };
    return guestReader(conn, lock, assertOpen, (err) => this.failed(err, used, undefined));
  }

  /** The guest connection of an opening, opened with the fence on first use. `locked`: the caller holds the write lock. */
  private guestConnection(h: Handles, locked = false): Promise<DuckDBConnection> {
    h.guest ??= (async () => {
      const conn = await h.instance.connect();
      await conn.run(SET_UTC_SQL);
      // Global settings: taken between two commits, never in the middle of one.
      const fence = async () => {
        for (const sql of LOCK_DOWN_SQL) await conn.run(sql);
      };
      await (locked ? fence() : this.writeLock.run(fence));
      return conn;
    })();
    return h.guest;
  }

  /** Waits for running statements, then releases the connections and the database. */
  async close(): Promise<void> {
    await Promise.all([this.writeLock.run(async () => undefined), this.readLock.run(async () => undefined), this.guestLock.run(async () => undefined)]);
    await closeHandles(this.handles);
  }

  /** DuckDB's error as a warehouse error; a fatal one marks the opening it came from as invalidated. */
  private failed(err: unknown, used: Handles | undefined, table: string | undefined): WarehouseError {
    const e = fromDuckDBError(err, table);
    if (e instanceof WarehouseInvalidatedError && used !== undefined && used === this.handles && this.broken === undefined) {
      this.broken = { error: e, handles: used };
      log.error(`${e.message}: ${this.path === ':memory:' ? 'an in-memory database cannot be reopened' : `the next statement reopens ${this.path}`}`);
    }
    return e;
  }

  /** After a fatal error: closes the invalidated opening and opens the file again, once no statement runs. */
  private async mend(): Promise<void> {
    if (this.broken === undefined) return;
    // Every lock, in this order only: no statement runs on the connections being replaced.
    await this.writeLock.run(() => this.readLock.run(() => this.guestLock.run(() => this.reopen())));
  }

  private async reopen(): Promise<void> {
    const broken = this.broken;
    if (broken === undefined) return;
    if (this.path === ':memory:') throw broken.error;
    await closeHandles(broken.handles);
    let fresh: Handles | undefined;
    try {
      fresh = await openHandles(this.options);
      if (this.guestWanted) await this.guestConnection(fresh, true);
    } catch (err) {
      if (fresh) await closeHandles(fresh);
      throw new WarehouseInvalidatedError(`${broken.error.message}; reopening ${this.path} failed: ${toError(err).message.split('\n')[0]}`, {
        cause: err,
      });
    }
    this.handles = fresh;
    this.broken = undefined;
    log.warn(`DuckDB: reopened ${this.path} after its fatal error`);
  }
}
