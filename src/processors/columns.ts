/** Column declarations for the phase 3–5 tables: `key` for never-null columns, `col` for nullable ones. */
import type { Column } from './types.ts';

export function key(name: string, type: Column['type'], description?: string): Column {
  return description ? { name, type, nullable: false, description } : { name, type, nullable: false };
}

export function col(name: string, type: Column['type'], description?: string): Column {
  return description ? { name, type, description } : { name, type };
}
