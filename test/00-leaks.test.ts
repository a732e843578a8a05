/**
 * Root-level hook: a test file that leaves a runtime (workers, Redis connections) open fails
 * the run, naming where it was opened. Suites open runtimes in `before` and close them in
 * `after`, so the check runs once every suite has finished.
 */
import { expect } from 'chai';
import { openRuntimes } from './helpers.ts';

after(async () => {
  const leaked = [...openRuntimes.entries()];
  await Promise.all(leaked.map(([rt]) => rt.close().catch(() => undefined)));
  openRuntimes.clear();
  if (leaked.length > 0) expect.fail(`runtime(s) left open by: ${leaked.map(([, where]) => where).join('; ')}`);
});

describe('test isolation', () => {
  it('starts with no open runtimes', () => {
    expect(openRuntimes.size).to.equal(0);
  });
});
