/** One winston logger for the whole process; JSON when not on a terminal. */
import winston from 'winston';

export const log = winston.createLogger({
  level: process.env.PHASEGATE_LOG_LEVEL ?? 'info',
  format: process.stderr.isTTY
    ? winston.format.combine(
        winston.format.colorize(),
        winston.format.timestamp({ format: 'HH:mm:ss' }),
        winston.format.printf(
          ({ level, message, timestamp, ...rest }) => `${timestamp} ${level} ${message}${Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : ''}`,
        ),
      )
    : winston.format.combine(winston.format.timestamp(), winston.format.json()),
  // Logs go to stderr so that `--json` output on stdout stays machine-readable.
  transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug', 'verbose', 'silly'] })],
});

export function setLogLevel(level: string): void {
  log.level = level;
}
