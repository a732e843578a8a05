/** One winston logger for the whole process; JSON when not on a terminal; secrets masked. */
import winston from 'winston';
import { redactDeep } from './redact.ts';
import { wrap } from './terminal-text.ts';

/** Every string of a record through `redact` before any format or transport sees it. */
const redacted = winston.format((info) => {
  for (const key of Object.keys(info)) info[key] = redactDeep(info[key]);
  return info;
});

// no-color.org: a non-empty NO_COLOR turns colour off whatever the terminal can do.
const colour = process.stderr.isTTY && !process.env.NO_COLOR && (process.stderr.hasColors?.() ?? false);

/** A terminal line wrapped at the terminal's width (one column spare), continuation lines indented. */
function wrapped(line: string): string {
  return wrap(line, Math.max(40, (process.stderr.columns ?? 80) - 1)).join('\n');
}

export const log = winston.createLogger({
  level: process.env.PHASEGATE_LOG_LEVEL ?? 'info',
  format: process.stderr.isTTY
    ? winston.format.combine(
        redacted(),
        ...(colour ? [winston.format.colorize()] : []),
        winston.format.timestamp({ format: 'HH:mm:ss' }),
        winston.format.printf(({ level, message, timestamp, ...rest }) =>
          wrapped(`${timestamp} ${level} ${message}${Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : ''}`),
        ),
      )
    : winston.format.combine(redacted(), winston.format.timestamp(), winston.format.json()),
  // Logs go to stderr so that `--json` output on stdout stays machine-readable.
  transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug', 'verbose', 'silly'] })],
});

export function setLogLevel(level: string): void {
  log.level = level;
}
