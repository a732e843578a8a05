/** The log tables phasegate writes itself; the registry declares them next to the processors. */

import { sourceCoverageLog } from '../../coverage/log-table.ts';
import { streamingConflictLog } from '../conflicts/log-table.ts';
import type { LogTableDef } from './log-table.ts';
import { processingRunLog } from './processing-run-log.ts';

export { sourceCoverageLog } from '../../coverage/log-table.ts';
export { streamingConflictLog } from '../conflicts/log-table.ts';
export type { LogTableDef } from './log-table.ts';
export { processingRunLog } from './processing-run-log.ts';

export const LOG_TABLES: readonly LogTableDef[] = [streamingConflictLog, processingRunLog, sourceCoverageLog];
