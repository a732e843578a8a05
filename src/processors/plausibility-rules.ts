/**
 * Plausibility rules: what a staged row must satisfy to be believed. Each table declares its
 * rules in one list (`TableSpec.plausibility`); staging checks every row against them.
 *
 * - `fatal`: the value cannot be true (FGM > FGA, negative counts). The slice fails at once,
 *   naming the file, the row and the rule: committing it would put a falsehood in the table.
 * - `warn`: the value is possible but suspect. The row is kept and the issue recorded with it
 *   in its `quality_issues` column, where the quality tiers read it.
 */
import type { Cell, PlausibilityRule, QualityIssue, Row, RuleLevel } from './types.ts';

export type { PlausibilityRule, QualityIssue, RuleLevel };

const num = (v: Cell | undefined): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** `a ≤ b` over two integer columns; holds when either is null. */
export function atMost(name: string, a: string, b: string, level: RuleLevel = 'fatal'): PlausibilityRule {
  return {
    name,
    level,
    check: (row) => {
      const x = num(row[a]);
      const y = num(row[b]);
      return x !== undefined && y !== undefined && x > y ? `${a} ${x} > ${b} ${y}` : undefined;
    },
  };
}

/** Every listed column is ≥ 0 (or null). */
export function nonNegative(name: string, columns: readonly string[], level: RuleLevel = 'fatal'): PlausibilityRule {
  return {
    name,
    level,
    check: (row) => {
      const bad = columns.filter((c) => (num(row[c]) ?? 0) < 0);
      return bad.length > 0 ? bad.map((c) => `${c} ${row[c]}`).join(', ') : undefined;
    },
  };
}

/** `target = Σ weight·column`; holds when any input is null. */
export function sumOf(name: string, target: string, terms: readonly (readonly [number, string])[], level: RuleLevel = 'fatal'): PlausibilityRule {
  return {
    name,
    level,
    check: (row) => {
      const t = num(row[target]);
      const values = terms.map(([w, c]) => [w, c, num(row[c])] as const);
      if (t === undefined || values.some(([, , v]) => v === undefined)) return undefined;
      const sum = values.reduce((n, [w, , v]) => n + w * (v as number), 0);
      if (sum === t) return undefined;
      const formula = values.map(([w, c, v]) => `${w === 1 ? '' : `${w}·`}${c} ${v}`).join(' + ');
      return `${target} ${t} ≠ ${formula} = ${sum}`;
    },
  };
}

/** A column at most `max` (a value beyond it is possible but worth a second look). */
export function atMostValue(name: string, column: string, max: number, level: RuleLevel = 'warn'): PlausibilityRule {
  return {
    name,
    level,
    check: (row) => {
      const v = num(row[column]);
      return v !== undefined && v > max ? `${column} ${v} > ${max}` : undefined;
    },
  };
}

/** The issues a row raises, fatal ones first. */
export function evaluate(rules: readonly PlausibilityRule[], row: Row): QualityIssue[] {
  const issues: QualityIssue[] = [];
  for (const rule of rules) {
    const detail = rule.check(row);
    if (detail !== undefined) issues.push({ rule: rule.name, level: rule.level, detail });
  }
  return issues.sort((a, b) => (a.level === b.level ? 0 : a.level === 'fatal' ? -1 : 1));
}

/** The issues already recorded in a row's `quality_issues` cell (a JSON list), if any. */
export function recordedIssues(cell: Cell | undefined): QualityIssue[] {
  if (typeof cell !== 'string' || cell === '') return [];
  const parsed = JSON.parse(cell) as unknown;
  return Array.isArray(parsed) ? (parsed as QualityIssue[]) : [];
}
