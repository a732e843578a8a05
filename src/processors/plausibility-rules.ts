/**
 * Plausibility rules: what a staged row must satisfy to be believed. Each table declares its
 * rules in one list (`TableSpec.plausibility`); staging checks every row against them.
 *
 * - `fatal`: the value cannot be true (FGM > FGA, negative counts). The slice fails at once,
 *   naming the file, the row and the rule: committing it would put a falsehood in the table.
 * - A group rule (`GroupRule`) reads the rows sharing a key — one team's lines in one game —
 *   for what no single row shows (one name under two ids, more minutes than the game had).
 * - `warn`: the value is possible but suspect. The row is kept and the issue recorded with it
 *   in its `quality_issues` column, where the quality tiers read it.
 */
import type { Cell, GroupRule, PlausibilityRule, QualityIssue, Row, RowRule, RuleLevel } from './types.ts';

export type { GroupRule, PlausibilityRule, QualityIssue, RowRule, RuleLevel };

const num = (v: Cell | undefined): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** `a ≤ b` over two integer columns; holds when either is null. */
export function atMost(name: string, a: string, b: string, level: RuleLevel = 'fatal'): RowRule {
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
export function nonNegative(name: string, columns: readonly string[], level: RuleLevel = 'fatal'): RowRule {
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
export function sumOf(name: string, target: string, terms: readonly (readonly [number, string])[], level: RuleLevel = 'fatal'): RowRule {
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
export function atMostValue(name: string, column: string, max: number, level: RuleLevel = 'warn'): RowRule {
  return {
    name,
    level,
    check: (row) => {
      const v = num(row[column]);
      return v !== undefined && v > max ? `${column} ${v} > ${max}` : undefined;
    },
  };
}

/**
 * A row with time on the court (`seconds` > 0) has every listed stat: null is what a player
 * who did not play gets, so a played line with a null stat lost it (and would replace a
 * committed value with null, which no other rule sees: they hold when an input is null).
 */
export function knownWhenPlayed(name: string, seconds: string, columns: readonly string[]): RowRule {
  return {
    name,
    level: 'fatal',
    check: (row) => {
      const played = num(row[seconds]);
      if (played === undefined || played <= 0) return undefined;
      const unknown = columns.filter((c) => num(row[c]) === undefined);
      return unknown.length > 0 ? `${seconds} ${played} with ${unknown.join(', ')} null` : undefined;
    },
  };
}

const groupKey = (row: Row, columns: readonly string[]) => columns.map((c) => String(row[c])).join('\u0000');

/** One name is one id within a group: the same line copied under a second id is two "players". */
export function oneIdPerName(name: string, groupBy: readonly string[], nameColumn: string, idColumn: string): GroupRule {
  return {
    name,
    level: 'fatal',
    groupBy,
    checkGroup: (rows) => {
      const idOf = new Map<string, Cell | undefined>();
      for (const row of rows) {
        const n = typeof row[nameColumn] === 'string' ? (row[nameColumn] as string).trim().toLowerCase() : undefined;
        if (n === undefined || n === '') continue;
        const first = idOf.get(n);
        if (idOf.has(n) && first !== row[idColumn]) {
          return { row, detail: `${nameColumn} "${String(row[nameColumn])}" under ${idColumn} ${String(first)} and ${String(row[idColumn])}` };
        }
        idOf.set(n, row[idColumn]);
      }
      return undefined;
    },
  };
}

/**
 * Nobody plays longer than the game: 48 minutes plus 5 per overtime. The overtimes come from
 * the team's minutes — its players' seconds summed (five on the floor at every moment:
 * 240 minutes plus 25 per overtime; the feed's rounding misses by a few minutes, far from 25).
 */
export function withinGameLength(name: string, groupBy: readonly string[], seconds: string): GroupRule {
  return {
    name,
    level: 'fatal',
    groupBy,
    checkGroup: (rows) => {
      const teamSeconds = rows.reduce((n, r) => n + (num(r[seconds]) ?? 0), 0);
      const overtimes = Math.max(0, Math.round((teamSeconds / 60 - 240) / 25));
      const limit = (48 + 5 * overtimes) * 60;
      const row = rows.find((r) => (num(r[seconds]) ?? 0) > limit);
      if (!row) return undefined;
      const ot = overtimes === 0 ? 'no overtime' : `${overtimes} overtime${overtimes > 1 ? 's' : ''}`;
      return { row, detail: `${seconds} ${String(row[seconds])} > ${limit} (${limit / 60} minutes: ${ot}, team ${Math.round(teamSeconds / 60)} minutes)` };
    },
  };
}

export function isGroupRule(rule: PlausibilityRule): rule is GroupRule {
  return 'checkGroup' in rule;
}

/** The first row of `rows` a group rule refuses, with the rule and why. */
export function evaluateGroups(rules: readonly PlausibilityRule[], rows: readonly Row[]): { rule: GroupRule; row: Row; detail: string } | undefined {
  for (const rule of rules.filter(isGroupRule)) {
    const groups = new Map<string, Row[]>();
    for (const row of rows) {
      const k = groupKey(row, rule.groupBy);
      const list = groups.get(k) ?? [];
      list.push(row);
      groups.set(k, list);
    }
    for (const group of groups.values()) {
      const broken = rule.checkGroup(group);
      if (broken) return { rule, ...broken };
    }
  }
  return undefined;
}

/** The issues a row raises, fatal ones first. */
export function evaluate(rules: readonly PlausibilityRule[], row: Row): QualityIssue[] {
  const issues: QualityIssue[] = [];
  for (const rule of rules) {
    if (isGroupRule(rule)) continue;
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
