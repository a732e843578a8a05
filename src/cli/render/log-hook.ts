/**
 * While the progress block is on screen, winston's console transport hands its entries to the
 * renderer instead of writing them into the block; when it stops, the transport writes again.
 */
import winston from 'winston';
import { log } from '../../log.ts';

export interface LogEntry {
  level: string;
  message: string;
  at: Date;
  /** Fields besides level, message and timestamp. */
  meta: Record<string, unknown>;
}

type Info = Record<string | symbol, unknown>;

// winston keeps the uncoloured level under this symbol (triple-beam's LEVEL); `level` itself
// may carry the colour codes of the terminal format.
const LEVEL = Symbol.for('level');

export function entryOf(info: Info): LogEntry {
  const { level, message, timestamp, ...meta } = info;
  const plain = info[LEVEL];
  return {
    level: typeof plain === 'string' ? plain : String(level),
    message: typeof message === 'string' ? message : JSON.stringify(message),
    at: new Date(),
    meta: Object.fromEntries(Object.entries(meta)),
  };
}

/** Sends every console-transport entry to `sink` until the returned function is called. */
export function routeLogs(sink: (entry: LogEntry) => void): () => void {
  const undo: (() => void)[] = [];
  for (const transport of log.transports) {
    if (!(transport instanceof winston.transports.Console)) continue;
    const original = transport.log;
    transport.log = (info: Info, next: () => void) => {
      sink(entryOf(info));
      next();
    };
    undo.push(() => {
      transport.log = original;
    });
  }
  return () => {
    for (const u of undo.splice(0)) u();
  };
}
