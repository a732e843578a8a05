/**
 * The one terminal renderer of `backfill --wait`, `backfill --workers` and `demo`: a block of
 * progress lines at the bottom of the terminal, redrawn in place, with every log line and
 * every other write to the stream printed above it — never into it. Each line fits the
 * terminal's width (a log line is wrapped, a bar line laid out for it), so nothing wraps
 * behind the renderer's back and the block is always the lines it counts.
 *
 * Only for a terminal: when standard error is not one, there are no bars and log lines stay
 * JSON lines (src/log.ts).
 */
import { type BarRow, barLines } from './bar-line.ts';
import { type LogEntry, routeLogs } from './log-hook.ts';
import { truncate, wrap } from './text.ts';

/** What the renderer writes to: process.stderr, or a fake terminal in tests. */
export interface TerminalStream {
  write(chunk: string): boolean;
  columns?: number | undefined;
  isTTY?: boolean | undefined;
  /** A tty.WriteStream's: whether the terminal shows colour (it honours NO_COLOR, FORCE_COLOR and TERM). */
  hasColors?: (() => boolean) | undefined;
}

/**
 * Colour when the terminal has it and the user did not turn it off: `NO_COLOR` set to anything
 * non-empty (no-color.org) wins, whatever the stream says.
 */
export function colourOf(stream: TerminalStream, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return stream.isTTY === true && (stream.hasColors?.() ?? false);
}

export interface RendererOptions {
  /** @defaultValue process.stderr */
  stream?: TerminalStream;
  /** Print `info` log lines above the bars too (`--verbose`). @defaultValue false: the latest one is shown under the bars */
  verbose?: boolean;
  /**
   * Route winston's console transport and any other write to `stream` through the renderer
   * while it runs. Tests that hand in a fake stream and log entries directly turn it off.
   * @defaultValue true
   */
  capture?: boolean;
  /** Colour the bars and log levels. @defaultValue `colourOf(stream)` */
  colour?: boolean;
}

// The narrowest layout we try to keep readable; a narrower terminal gets cut lines.
const MIN_COLUMNS = 40;
// Terminals differ on whether a line exactly as wide as the screen moves the cursor; one
// column less never does.
const RIGHT_MARGIN = 1;

const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';
const CLEAR_BELOW = '\x1b[J';
const up = (n: number) => (n > 0 ? `\r\x1b[${n}A` : '\r');

const LEVEL_COLOUR: Record<string, string> = { error: '\x1b[31m', warn: '\x1b[33m', debug: '\x1b[90m' };

function clock(at: Date): string {
  return at.toTimeString().slice(0, 8);
}

function formatEntry(e: LogEntry, coloured: boolean): string {
  const colour = coloured ? LEVEL_COLOUR[e.level] : undefined;
  const level = colour ? `${colour}${e.level}\x1b[0m` : e.level;
  const meta = Object.keys(e.meta).length > 0 ? ` ${JSON.stringify(e.meta)}` : '';
  return `${clock(e.at)} ${level} ${e.message}${meta}`;
}

export class TerminalRenderer {
  private readonly stream: TerminalStream;
  private readonly write: (chunk: string) => boolean;
  private readonly verbose: boolean;
  private readonly colour: boolean;
  private header = '';
  private rows: BarRow[] = [];
  /** The latest `info` line, folded under the bars (not printed above them) unless verbose. */
  private latest: string | undefined;
  private above: string[] = [];
  /** Lines of the block on screen now: how far up the next redraw starts. */
  private drawn = 0;
  private partial = '';
  private release: (() => void)[] = [];
  private active = false;

  constructor(opts: RendererOptions = {}) {
    this.stream = opts.stream ?? process.stderr;
    this.write = this.stream.write.bind(this.stream);
    this.verbose = opts.verbose ?? false;
    this.colour = opts.colour ?? colourOf(this.stream);
    if (opts.capture ?? true) this.capture();
    this.active = true;
    this.write(HIDE_CURSOR);
    const restore = () => this.write(SHOW_CURSOR);
    // A process that exits mid-run (a second Ctrl-C) must not leave the cursor hidden.
    process.once('exit', restore);
    this.release.push(() => process.off('exit', restore));
  }

  /** Usable columns: one less than the terminal's, never fewer than MIN_COLUMNS. */
  width(): number {
    return Math.max(MIN_COLUMNS, (this.stream.columns ?? 80) - RIGHT_MARGIN);
  }

  /** Replaces the block's contents and redraws it. */
  update(header: string, rows: readonly BarRow[]): void {
    this.header = header;
    this.rows = [...rows];
    this.redraw();
  }

  /** A log line: above the bars, or folded under them (an `info` line without --verbose). */
  log(entry: LogEntry): void {
    if (entry.level === 'info' && !this.verbose) this.latest = `${clock(entry.at)} ${entry.message}`;
    else this.above.push(formatEntry(entry, this.colour));
    this.redraw();
  }

  /** Text written to the stream by someone else (a signal notice): printed above the bars. */
  text(chunk: string): void {
    const lines = (this.partial + chunk).split('\n');
    this.partial = lines.pop() ?? '';
    // Blank lines (a notice that starts with one) say nothing above a progress block.
    this.above.push(...lines.filter((l) => l.trim() !== ''));
    this.redraw();
  }

  /** Draws the final state, leaves it on screen, and gives the stream and the logger back. */
  stop(): void {
    if (!this.active) return;
    if (this.partial) this.above.push(this.partial);
    this.partial = '';
    // The folded line was about work in progress; the summary follows.
    this.latest = undefined;
    this.redraw();
    this.active = false;
    for (const undo of this.release.splice(0).reverse()) undo();
    this.write(SHOW_CURSOR);
  }

  private block(width: number): string[] {
    const lines = [this.header, ...barLines(this.rows, width, { colour: this.colour })];
    if (this.latest) lines.push(`  ${this.latest}`);
    return lines.filter((l) => l !== '').map((l) => truncate(l, width));
  }

  private redraw(): void {
    if (!this.active) return;
    const width = this.width();
    let out = up(this.drawn) + CLEAR_BELOW;
    for (const line of this.above.splice(0)) for (const part of wrap(line, width)) out += `${part}\n`;
    const block = this.block(width);
    for (const line of block) out += `${line}\n`;
    this.drawn = block.length;
    this.write(out);
  }

  private capture(): void {
    this.release.push(routeLogs((entry) => this.log(entry)));
    const stream = this.stream as TerminalStream & { write: (...args: unknown[]) => boolean };
    const original = stream.write;
    stream.write = (chunk: unknown, ...rest: unknown[]) => {
      this.text(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      done?.();
      return true;
    };
    this.release.push(() => {
      stream.write = original;
    });
  }
}
