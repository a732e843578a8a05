/**
 * Typed reads of untrusted JSON values. Every failure is an InputError naming the file and
 * the field, in one line, so a malformed raw file fails its job at once with a reason.
 */
import { InputError } from '../../../errors/input-error.ts';
import { parseMinutes } from './minutes.ts';

export type Json = unknown;

/** A raw file's bytes or text are parsed; anything else is taken as already-parsed JSON. */
export function toDocument(input: unknown, file: string): Json {
  if (typeof input !== 'string' && !Buffer.isBuffer(input)) return input;
  const text = input.toString();
  try {
    return JSON.parse(text) as Json;
  } catch (err) {
    throw new InputError(`not valid JSON (${(err as Error).message})`, { file, cause: err });
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function shown(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** Reads fields of one record; `where` prefixes every message (e.g. `PlayerStats row 3`). */
export class FieldReader {
  constructor(
    private readonly file: string,
    private readonly where: string,
  ) {}

  fail(message: string, cause?: unknown): never {
    throw new InputError(`${this.where}: ${message}`, { file: this.file, cause });
  }

  string(name: string, value: unknown): string {
    if (typeof value !== 'string') this.fail(`${name} must be a string, got ${shown(value)}`);
    return value;
  }

  optString(name: string, value: unknown): string | null {
    if (value === null || value === undefined) return null;
    return this.string(name, value);
  }

  int(name: string, value: unknown): number {
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) this.fail(`${name} must be an integer, got ${shown(value)}`);
    return value;
  }

  optInt(name: string, value: unknown): number | null {
    if (value === null || value === undefined) return null;
    return this.int(name, value);
  }

  optNumber(name: string, value: unknown): number | null {
    if (value === null || value === undefined) return null;
    if (typeof value !== 'number' || !Number.isFinite(value)) this.fail(`${name} must be a number or null, got ${shown(value)}`);
    return value;
  }

  gameId(name: string, value: unknown): string {
    const id = this.string(name, value);
    if (!/^\d{10}$/.test(id)) this.fail(`${name} must be a 10-digit string, got ${shown(value)}`);
    return id;
  }

  seconds(name: string, value: unknown): number | null {
    try {
      return parseMinutes(value);
    } catch (err) {
      this.fail(`${name}: ${(err as Error).message}`, err);
    }
  }
}
