/**
 * The warehouse the doctor inspects, as its backend opens it for the doctor (creating nothing):
 * the warehouse, or one line saying there is none yet or why it cannot be opened now.
 */
import type { Config } from '../config/load-config.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { openForDoctor as openBackend } from '../warehouse/index.ts';
import type { Warehouse } from '../warehouse/types.ts';
import { type Check, fail, ok } from './check.ts';

export async function openForDoctor(config: Config, store: ObjectStore): Promise<{ warehouse: Warehouse | undefined; checks: Check[] }> {
  const subject = `warehouse ${config.warehouse}`;
  const opening = await openBackend(config, store);
  switch (opening.kind) {
    case 'open':
      return { warehouse: opening.warehouse, checks: [] };
    case 'absent':
      return { warehouse: undefined, checks: [ok(subject, opening.detail)] };
    case 'unavailable':
      return { warehouse: undefined, checks: [fail(subject, opening.problem.detail, opening.problem.fix, opening.problem.blocksCommits)] };
  }
}
