/** Root-level hook: a test that leaves a runtime (workers, Redis connections) open fails. */
import { expect } from 'chai';
import { openRuntimes } from './helpers.ts';

afterEach(async function () {
  if (openRuntimes.size === 0) return;
  const n = openRuntimes.size;
  await Promise.all([...openRuntimes].map((rt) => rt.close().catch(() => undefined)));
  openRuntimes.clear();
  expect.fail(`${this.currentTest?.fullTitle() ?? 'a test'} left ${n} runtime(s) open`);
});

describe('test isolation', () => {
  it('starts with no open runtimes', () => {
    expect(openRuntimes.size).to.equal(0);
  });
});
