/**
 * Minutes played as NBA.com writes them, to seconds. The feeds disagree on the format and
 * each has kept its quirks for years, so all of them are read here and nowhere else.
 */
import { InputError } from '../../../errors/input-error.ts';

// `MM:SS`, where SS may be 60 (NBA.com rounds 23:59.6 up to "23:60" instead of "24:00"),
// and recent v2 seasons write the minutes as a decimal: "29.000000:53".
const CLOCK = /^(\d+(?:\.\d+)?):(\d{1,2})$/;
// boxscore v3 / live data: ISO-8601 durations such as "PT32M15.00S".
const ISO = /^PT(?:(\d+)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?$/;
// Old feeds: whole or decimal minutes only, "35".
const PLAIN = /^\d+(?:\.\d+)?$/;

/**
 * Seconds played, or null when the player did not play (`""`, null). Throws InputError for
 * text that is none of the known formats, so a feed change fails loudly instead of
 * recording zeros.
 */
export function parseMinutes(raw: unknown): number | null {
  if (raw === null || raw === undefined) return null;
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw) || raw < 0) throw new InputError(`minutes ${raw} is not a non-negative number`);
    return Math.round(raw * 60);
  }
  if (typeof raw !== 'string') throw new InputError(`minutes must be a string or number, got ${typeof raw}`);
  const text = raw.trim();
  if (text === '') return null;
  const clock = CLOCK.exec(text);
  if (clock) {
    const seconds = Number(clock[2]);
    if (seconds > 60) throw new InputError(`minutes "${raw}" has ${seconds} seconds`);
    return Math.round(Number(clock[1]) * 60) + seconds;
  }
  const iso = ISO.exec(text);
  if (iso && text !== 'PT') {
    return Math.round(Number(iso[1] ?? 0) * 3600 + Number(iso[2] ?? 0) * 60 + Number(iso[3] ?? 0));
  }
  if (PLAIN.test(text)) return Math.round(Number(text) * 60);
  throw new InputError(`minutes "${raw}" is not MM:SS, M.000000:SS, PTnMn.nnS or plain minutes`);
}
