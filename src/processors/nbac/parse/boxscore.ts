/** Reads a box score of either stats.nba.com version into one normalized shape. */
import { InputError } from '../../../errors/input-error.ts';
import type { ParsedBoxscore } from './boxscore-types.ts';
import { parseBoxscoreV2 } from './boxscore-v2.ts';
import { parseBoxscoreV3 } from './boxscore-v3.ts';
import { isObject, toDocument } from './fields.ts';

export type { ParsedBoxscore, PlayerLine, StatLine, TeamLine } from './boxscore-types.ts';
export { parseBoxscoreV2 } from './boxscore-v2.ts';
export { parseBoxscoreV3 } from './boxscore-v3.ts';
export { parseMinutes } from './minutes.ts';

/** The version is told by shape: v3 has `boxScoreTraditional`, v2 has `resultSets`. */
export function parseBoxscore(json: unknown, sourceFile: string): ParsedBoxscore {
  const doc = toDocument(json, sourceFile);
  if (isObject(doc) && 'boxScoreTraditional' in doc) return parseBoxscoreV3(doc, sourceFile);
  if (isObject(doc) && 'resultSets' in doc) return parseBoxscoreV2(doc, sourceFile);
  throw new InputError('neither a boxscoretraditionalv2 (resultSets) nor a v3 (boxScoreTraditional) response', { file: sourceFile });
}
