/** The log tables phasegate writes itself; the registry declares them next to the processors. */

import type { LogTableDef } from '../processors/types.ts';
import { processingRunLog } from './processing-run-log.ts';
import { sourceCoverageLog } from './source-coverage-log.ts';
import { streamingConflictLog } from './streaming-conflict-log.ts';

export type { LogTableDef } from '../processors/types.ts';
export { processingRunLog } from './processing-run-log.ts';
export { sourceCoverageLog } from './source-coverage-log.ts';
export { streamingConflictLog } from './streaming-conflict-log.ts';

export const LOG_TABLES: readonly LogTableDef[] = [streamingConflictLog, processingRunLog, sourceCoverageLog];
