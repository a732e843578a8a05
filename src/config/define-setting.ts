/**
 * How a setting is declared, and what is derived from the declarations: the `Config` type, the
 * list of variables, the value tree `loadConfig` returns. A setting is written once
 * (src/config/settings.ts); its zod schema, its place in `Config`, its variable and its README
 * line all come from that one declaration.
 */
import type { z } from 'zod';

/** The texts of the variables resolved so far, defaults applied: what a derived default reads. */
export type SettingTexts = Readonly<Record<string, string>>;

/** A default made from other settings' texts (e.g. a file inside the data folder). */
export interface DerivedDefault {
  /** What the README shows, e.g. `<data>/store`. */
  shown: string;
  text: (texts: SettingTexts) => string;
}

export interface SettingSpec {
  /** One line for the README's table: what the variable does. */
  doc: string;
  /**
   * The variable's text when it is unset or empty, parsed like a text that was given. Absent:
   * the value is `undefined`.
   */
  default?: string | number | boolean | DerivedDefault;
  /** What the README shows as the default, when the text alone would not say it. */
  shown?: string;
  /** Never shown in an error message. */
  secret?: boolean;
  /** Says where state lives or whom phasegate talks to: a harness never inherits it (`productSettings`). */
  location?: boolean;
  /**
   * Must agree in every process on one pipeline (a table gate's caps bind every worker): the
   * first process to start table gates records it in Redis and a worker whose value differs
   * refuses to start (src/config/shared-settings.ts, `phasegate config`).
   */
  shared?: boolean;
}

/** One declared setting; `T` is its value in `Config`, `E` its variable. */
export interface Setting<T = unknown, E extends string = string> extends Readonly<SettingSpec> {
  readonly env: E;
  /** Parses the variable's text into its value; its first issue is the one-line error. */
  readonly type: z.ZodType<T>;
  /** The README section it is listed under (stamped by `group`). */
  readonly group: string;
}

/** Settings, nested as `Config` is. */
export interface SettingTree {
  readonly [key: string]: Setting | SettingTree;
}

type Given = { default: NonNullable<SettingSpec['default']> };

/** Declares one setting: its variable, how its text parses, and the spec (doc, default, flags). */
export function setting<const E extends string, T>(env: E, type: z.ZodType<T>, spec: SettingSpec & Given): Setting<T, E>;
export function setting<const E extends string, T>(env: E, type: z.ZodType<T>, spec: SettingSpec): Setting<T | undefined, E>;
export function setting<const E extends string, T>(env: E, type: z.ZodType<T>, spec: SettingSpec): Setting<T | undefined, E> {
  return { ...spec, env, type: type as z.ZodType<T | undefined>, group: '' };
}

export function isSetting(node: Setting | SettingTree): node is Setting {
  return typeof node.env === 'string' && 'type' in node;
}

/** The same settings, each listed under `title` in the README; spread it into its parent. */
export function group<const M extends SettingTree>(title: string, members: M): M {
  const stamp = (tree: SettingTree): SettingTree =>
    Object.fromEntries(Object.entries(tree).map(([k, v]) => [k, isSetting(v) ? { ...v, group: v.group || title } : stamp(v)]));
  return stamp(members) as M;
}

/** The value tree a declaration tree resolves to: `Config`, derived. */
export type ConfigOf<T> = { -readonly [K in keyof T]: T[K] extends Setting<infer V> ? V : ConfigOf<T[K]> };

/** Every variable a declaration tree reads. */
export type VariableOf<T> = { [K in keyof T]: T[K] extends Setting<unknown, infer E> ? E : VariableOf<T[K]> }[keyof T];

export interface DeclaredSetting {
  /** Where the value sits in `Config`, e.g. `['table', 'opsMax']`. */
  path: string[];
  setting: Setting;
}

/** The settings in declaration order. */
export function declared(tree: SettingTree, path: string[] = []): DeclaredSetting[] {
  return Object.entries(tree).flatMap(([key, node]) => (isSetting(node) ? [{ path: [...path, key], setting: node }] : declared(node, [...path, key])));
}

/** The variables' texts with every default applied (plain ones first: a derived default reads them). */
export function withDefaults(settings: readonly DeclaredSetting[], given: SettingTexts): Record<string, string> {
  const texts: Record<string, string> = { ...given };
  for (const { setting: s } of settings) {
    if (texts[s.env] === undefined && s.default !== undefined && typeof s.default !== 'object') texts[s.env] = String(s.default);
  }
  for (const { setting: s } of settings) {
    if (texts[s.env] === undefined && typeof s.default === 'object') texts[s.env] = s.default.text(texts);
  }
  return texts;
}

/** Parsed values, keyed by variable, put where the declarations say. */
export function assemble(settings: readonly DeclaredSetting[], values: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const { path, setting: s } of settings) {
    let node = root;
    for (const key of path.slice(0, -1)) {
      node[key] ??= {};
      node = node[key] as Record<string, unknown>;
    }
    node[path[path.length - 1] as string] = values[s.env];
  }
  return root;
}
