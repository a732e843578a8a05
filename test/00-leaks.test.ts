/**
 * Root-level hook: a test file that leaves a runtime (workers, Redis connections) open fails
 * the run, naming where it was opened. Suites open runtimes in `before` and close them in
 * `after`, so the check runs once every suite has finished.
 *
 * Mocha runs without `--exit`, so a handle left open (a child process, a socket, a timer) keeps
 * the run from ending after its summary. The watchdog armed here does not hold the process
 * itself (it is unref'd): it fires only if something else does, names what is still open, and
 * ends the run as failed instead of letting it hang until CI's limit.
 */
import { expect } from 'chai';
import { openRuntimes } from './helpers.ts';
import { openHandles } from './open-handles.ts';

const WATCHDOG_MS = 60_000;

function armWatchdog(): void {
  setTimeout(async () => {
    const open = new Map<string, number>();
    for (const kind of process.getActiveResourcesInfo()) open.set(kind, (open.get(kind) ?? 0) + 1);
    const held = [...open].map(([kind, n]) => `${kind} ×${n}`).join(', ');
    process.stderr.write(`test run still held open ${WATCHDOG_MS / 1000} s after its last test by: ${held}\n`);
    for (const line of await openHandles().catch((e: Error) => [`(could not list them: ${e.message})`])) process.stderr.write(`  ${line}\n`);
    // Registered after mocha's own exit listener, which sets the exit code to the failures.
    process.on('exit', () => {
      process.exitCode = 1;
    });
    process.exit(1);
  }, WATCHDOG_MS).unref();
}

after(async () => {
  armWatchdog();
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
