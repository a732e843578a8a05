/**
 * The terminal renderer of `backfill --wait`/`--workers` and `demo`, on a fake 80-column
 * terminal: what it writes is played on a small screen model (cursor up, erase below, line
 * wrap at the width), so a line wider than the terminal, a bar left behind or a log line
 * written into the bars shows up as it would on a real one.
 */
import { expect } from 'chai';
import { type DemoReport, formatDemo } from '../src/cli/demo-run.ts';
import { type BarRow, barLines } from '../src/cli/render/bar-line.ts';
import { EtaEstimator } from '../src/cli/render/eta.ts';
import { type BackfillSummary, summaryLines } from '../src/cli/render/summary.ts';
import { colourOf, TerminalRenderer, type TerminalStream } from '../src/cli/render/terminal.ts';
import { abbreviateAll, clipAtWord, plural, visibleWidth, wrap } from '../src/cli/render/text.ts';
import type { Config } from '../src/config/load-config.ts';
import { log, setLogLevel } from '../src/log.ts';
import { realLines } from '../src/sources/fixture/player-lines.ts';

/** A terminal screen: enough of a VT100 for what the renderer writes. */
class FakeTerminal implements TerminalStream {
  readonly isTTY = true;
  readonly lines: string[] = [''];
  /** Lines the terminal had to wrap: each is a line the renderer wrote wider than the screen. */
  wrapped = 0;
  private row = 0;
  private col = 0;
  raw = '';

  constructor(readonly columns: number) {}

  write(chunk: string): boolean {
    this.raw += chunk;
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the escape sequences are what the screen model reads
    const tokens = chunk.match(/\x1b\[[0-9;?]*[A-Za-z]|\r|\n|[^\x1b\r\n]/gu) ?? [];
    for (const t of tokens) {
      if (t === '\n') this.moveTo(this.row + 1, 0);
      else if (t === '\r') this.col = 0;
      else if (t.startsWith('\x1b[')) {
        const n = Number.parseInt(t.slice(2), 10) || 1;
        if (t.endsWith('A')) this.row = Math.max(0, this.row - n);
        else if (t.endsWith('J')) {
          this.lines.splice(this.row + 1);
          this.lines[this.row] = (this.lines[this.row] ?? '').slice(0, this.col);
        }
        // Colours and cursor visibility change nothing on the screen model.
      } else {
        if (this.col >= this.columns) {
          this.wrapped += 1;
          this.moveTo(this.row + 1, 0);
        }
        const line = (this.lines[this.row] ?? '').padEnd(this.col);
        this.lines[this.row] = line.slice(0, this.col) + t + line.slice(this.col + 1);
        this.col += 1;
      }
    }
    return true;
  }

  private moveTo(row: number, col: number): void {
    this.row = row;
    this.col = col;
    while (this.lines.length <= row) this.lines.push('');
  }

  /** The screen without the empty line the cursor waits on. */
  screen(): string[] {
    const out = [...this.lines];
    while (out.length > 0 && out.at(-1) === '') out.pop();
    return out;
  }
}

const NAMES = [
  [1, 'nbac_player_boxscore_scraper'],
  [1, 'nbac_team_boxscore_scraper'],
  [2, 'nbac_player_boxscore'],
  [2, 'nbac_team_boxscore'],
  [3, 'player_game_summary'],
  [3, 'team_offense_game_summary'],
  [3, 'team_defense_game_summary'],
  [4, 'player_rolling_features'],
  [5, 'player_points_predictions'],
] as const;

function rows(done: number, total = 160): BarRow[] {
  return NAMES.map(([phase, processor], i) => ({
    phase,
    processor,
    total,
    committed: Math.max(0, done - i * 10),
    incomplete: i === 2 ? 3 : 0,
    empty: 0,
    waiting: i === 3 ? 2 : 0,
    failed: i === 4 ? 1 : 0,
    etaMs: i < 2 ? 42_000 : undefined,
  }));
}

describe('terminal renderer', () => {
  describe('bar lines', () => {
    for (const width of [200, 120, 79, 60, 40]) {
      it(`fit ${width} columns, every row in the same layout`, () => {
        const lines = barLines(rows(80), width);
        expect(lines).to.have.length(NAMES.length);
        for (const l of lines) expect(visibleWidth(l), l).to.be.at.most(width);
        // Same layout: the count column ends at the same place on every row.
        const ends = lines.map((l) => /\d+\/160/.exec(l)).map((m) => (m ? m.index + m[0].length : -1));
        expect(new Set(ends).size, lines.join('\n')).to.equal(1);
      });
    }

    it('keeps every name recognisable, failed counts and an ETA at 80 columns', () => {
      const lines = barLines(rows(80), 79);
      // Whole, or cut visibly keeping the start and the kind (the summary has every full name).
      for (const [i, [, name]] of NAMES.entries()) {
        const shown = (lines[i] as string).slice(2).split('  ')[0]?.trim() as string;
        expect(shown === name || (shown.includes('…') && name.startsWith(shown.split('…')[0] as string)), `${name}: ${shown}`).to.equal(true);
      }
      expect(lines[4]).to.match(/fail +1/);
      expect(lines[0]).to.match(/42s/);
      // Unknown until the bar has moved: a dash, not NaN, INF or a cut-off word.
      expect(lines[5]).to.match(/ –$/);
    });

    it('abbreviates names so that two processors stay told apart', () => {
      const short = abbreviateAll(
        NAMES.map(([, n]) => n),
        12,
      );
      expect(new Set(short).size).to.equal(NAMES.length);
      for (const s of short) expect(s.length).to.be.at.most(12);
      const lines = barLines(rows(80), 40);
      for (const l of lines) expect(visibleWidth(l)).to.be.at.most(40);
      expect(lines[4]).to.match(/fail +1/);
    });
  });

  describe('signals that do not mislead', () => {
    /** One processor of three dates: two committed, one failed, all ended. */
    const ended: BarRow = { phase: 2, processor: 'nbac_team_boxscore', total: 3, committed: 2, incomplete: 0, empty: 0, waiting: 0, failed: 1, etaMs: 0 };
    const clean: BarRow = { ...ended, processor: 'nbac_player_boxscore', committed: 3, failed: 0 };

    it('a finished bar with a failure ends in "failed", never "done", and shows the failure in the bar', () => {
      const [bad, good] = barLines([ended, clean], 79);
      expect(bad).to.match(/ failed$/);
      expect(bad).to.not.match(/done/);
      expect(bad).to.match(/█+✗+ /);
      expect(good).to.match(/ done$/);
      expect(good).to.match(/ █+ /);
    });

    it('one failure among 160 dates still shows in the bar, which is full only when every date ended', () => {
      const row: BarRow = {
        phase: 2,
        processor: 'nbac_team_boxscore',
        total: 160,
        committed: 100,
        incomplete: 0,
        empty: 0,
        waiting: 0,
        failed: 1,
        etaMs: 30_000,
      };
      const [line] = barLines([row], 79);
      expect(line).to.match(/✗/);
      expect(line).to.match(/░/);
      expect(barLines([{ ...row, committed: 159, etaMs: 1000 }], 79)[0]).to.match(/^2 nbac_team_boxscore {2}█+✗ /);
    });

    it('colours the bar and the counts by state when asked, and writes no colour code otherwise', () => {
      const [coloured] = barLines([ended], 79, { colour: true });
      expect(coloured).to.include('\x1b[32m██'); // committed: green
      expect(coloured).to.include('\x1b[31m✗'); // failed: red
      expect(coloured).to.include('\x1b[31mfail 1'); // the failed count
      expect(coloured?.endsWith('\x1b[31mfailed\x1b[39m')).to.equal(true);
      expect(visibleWidth(coloured as string)).to.equal((barLines([ended], 79)[0] as string).length);
      expect(barLines([ended], 79).join('\n')).to.not.include('\x1b');
    });

    it('colour only on a terminal that has it, and never with NO_COLOR set', () => {
      const tty = { isTTY: true, write: () => true, hasColors: () => true };
      expect(colourOf(tty, {})).to.equal(true);
      expect(colourOf(tty, { NO_COLOR: '1' })).to.equal(false);
      expect(colourOf({ ...tty, hasColors: () => false }, {})).to.equal(false);
      expect(colourOf({ ...tty, isTTY: false }, {})).to.equal(false);
      const term = new FakeTerminal(80);
      const renderer = new TerminalRenderer({ stream: term, capture: false, colour: false });
      renderer.update('demo · 3 dates · 1s', [ended]);
      renderer.stop();
      for (const code of [31, 32, 33, 36, 90]) expect(term.raw).to.not.include(`\x1b[${code}m`);
    });

    it('the same columns in every run at 80 columns: a 3-date run and a 160-date cascade', () => {
      const fields = (lines: string[]) =>
        lines.map((l) => (l.match(/\b(ok|wait|waiting|inc|incomplete|emp|empty|fail|failed) +\d/g) ?? []).map((m) => m.split(' ')[0]).join(','));
      const small = fields(barLines([ended, clean], 79));
      const large = fields(barLines(rows(80), 79));
      expect(new Set([...small, ...large]).size, [...small, ...large].join('\n')).to.equal(1);
      expect(small[0]).to.equal('ok,wait,inc,fail');
    });

    it('shortens a name only with a marked cut that keeps its start and kind, and tells phases apart', () => {
      const names = [...NAMES.map(([, n]) => n), 'bdl_player_boxscore_scraper'];
      const short = abbreviateAll(names, 20);
      expect(short[0]).to.equal('nbac_player…_scraper');
      expect(short).to.include('team_offens…_summary');
      // Never a made-up name that reads like a processor: a shortened one says it is cut.
      for (const [i, s] of short.entries()) expect(s === names[i] || s.includes('…'), s).to.equal(true);
      expect(new Set(short).size).to.equal(short.length);
      const lines = barLines(rows(80), 60);
      for (const l of lines) expect(l).to.not.match(/nbac_pla_|_box_/);
    });

    it('says 1 date, 1 processor, 1 slice', () => {
      const one: BackfillSummary = { id: 'bf-1', dates: 1, requested: 1, elapsedMs: 1000, processors: [], tables: [] };
      expect(summaryLines(one)[0]).to.equal('backfill bf-1: 1 date × 1 processor');
      expect(plural(1, 'DML statement')).to.equal('1 DML statement');
      expect(plural(2, 'slice')).to.equal('2 slices');
    });

    it('wraps a log message of several lines with every later line indented under the first', () => {
      const lines = wrap(
        '16:23:21 warn notification: backfill finished: 1 of 18 slices failed\n• nbac_team_boxscore 2023-11-03 failed\nSee `phasegate status`',
        40,
      );
      expect(lines[0]).to.equal('16:23:21 warn notification: backfill');
      expect(lines.slice(1).every((l) => l.startsWith('  '))).to.equal(true);
      expect(lines).to.include('  • nbac_team_boxscore 2023-11-03 failed');
    });

    it('cuts a long text at a word, with an ellipsis', () => {
      const text = 'nbac_team_boxscore 2023-11-03 failed: nba-com/team-boxscore/2023-11-03/0022300004.json: not valid JSON (Unexpected end of JSON input)';
      const cut = clipAtWord(text, 100);
      expect(cut).to.equal('nbac_team_boxscore 2023-11-03 failed: nba-com/team-boxscore/2023-11-03/0022300004.json: not valid…');
      expect(cut.endsWith('…')).to.equal(true);
      expect(text.startsWith(cut.slice(0, -1))).to.equal(true);
      expect(text[cut.length - 1]).to.equal(' ');
      expect(clipAtWord('short', 80)).to.equal('short');
    });
  });

  describe('ETA', () => {
    it('is unknown until the bar moved twice, then counts down from the recent rate', () => {
      const eta = new EtaEstimator();
      expect(eta.update(0, 100, 0)).to.equal(undefined);
      expect(eta.update(10, 100, 1000)).to.equal(undefined);
      expect(eta.update(20, 100, 2000)).to.equal(8000);
      expect(eta.update(100, 100, 3000)).to.equal(0);
    });

    it('is unknown again after a stall of a minute', () => {
      const eta = new EtaEstimator();
      eta.update(0, 100, 0);
      eta.update(10, 100, 1000);
      expect(eta.update(20, 100, 2000)).to.be.a('number');
      expect(eta.update(20, 100, 70_000)).to.equal(undefined);
    });
  });

  describe('on an 80-column terminal', () => {
    let level: string;
    before(() => {
      level = log.level;
      setLogLevel('info');
    });
    after(() => setLogLevel(level));

    it('prints a warning logged mid-run above the bars, never into them, and no line is wider than the terminal', () => {
      const term = new FakeTerminal(80);
      const r = new TerminalRenderer({ stream: term });
      try {
        r.update('backfill bf-1 · 160 dates · 3s', rows(10));
        r.update('backfill bf-1 · 160 dates · 4s', rows(20));
        log.warn(
          'nba_raw.nbac_player_boxscores 2024-01-05: the source has no data for 0022300512, 0022300513; the slice commits what it has and ends incomplete',
        );
        r.update('backfill bf-1 · 160 dates · 5s', rows(30));
        r.update('backfill bf-1 · 160 dates · 6s', rows(40));
      } finally {
        r.stop();
      }
      const screen = term.screen();
      expect(term.wrapped, screen.join('\n')).to.equal(0);
      for (const l of screen) expect(l.length, l).to.be.at.most(80);
      // The warning, wrapped by the renderer, then exactly one block of bars: the latest.
      const warning = screen.findIndex((l) => /warn nba_raw\.nbac_player_boxscores 2024-01-05: the source/.test(l));
      expect(warning, screen.join('\n')).to.equal(0);
      expect(screen.slice(0, 3).join(' ')).to.include('ends incomplete');
      const headers = screen.filter((l) => l.startsWith('backfill bf-1'));
      expect(headers).to.deep.equal(['backfill bf-1 · 160 dates · 6s']);
      expect(screen.filter((l) => l.includes('nbac_player…_scraper'))).to.have.length(1);
      expect(screen.at(-1)).to.include('5 player_points_predi…');
    });

    it('folds info lines (each commit) into one line under the bars, and prints them above with --verbose', () => {
      const quiet = new FakeTerminal(80);
      const r = new TerminalRenderer({ stream: quiet });
      r.update('backfill bf-2 · 160 dates · 1s', rows(10));
      for (let i = 1; i <= 5; i += 1) log.info(`committed ${i} slices, ${i * 100} rows to nba_raw.nbac_player_boxscores (one statement)`);
      const during = quiet.screen();
      r.stop();
      expect(during.filter((l) => l.includes('committed'))).to.have.length(1);
      expect(during.at(-1)).to.include('committed 5 slices, 500 rows');
      // Once the run is over the folded line goes: the summary follows.
      expect(quiet.screen().some((l) => l.includes('committed 5 slices'))).to.equal(false);

      const loud = new FakeTerminal(80);
      const v = new TerminalRenderer({ stream: loud, verbose: true });
      v.update('backfill bf-3 · 160 dates · 1s', rows(10));
      for (let i = 1; i <= 3; i += 1) log.info(`committed ${i} slices, ${i * 100} rows to nba_raw.nbac_player_boxscores (one statement)`);
      v.stop();
      const screen = loud.screen();
      const header = screen.findIndex((l) => l.startsWith('backfill bf-3'));
      // Each one above the bars (wrapped at the width), in order.
      expect(screen.slice(0, header).flatMap((l) => /info committed (\d) slices/.exec(l)?.[1] ?? [])).to.deep.equal(['1', '2', '3']);
      expect(screen.slice(header).some((l) => l.includes('committed'))).to.equal(false);
      expect(loud.wrapped).to.equal(0);
    });

    it('prints what someone else writes to the stream (a signal notice) above the bars, and gives the logger back', () => {
      const term = new FakeTerminal(80);
      const r = new TerminalRenderer({ stream: term });
      r.update('backfill bf-4 · 160 dates · 1s', rows(10));
      term.write('\nSIGINT: finishing active jobs, then stopping (again to quit now)\n');
      r.stop();
      expect(term.screen()[0]).to.equal('SIGINT: finishing active jobs, then stopping (again to quit now)');
      expect(term.screen()[1]).to.match(/^backfill bf-4/);
      // Stopped: the stream writes straight through again.
      const before = term.raw.length;
      term.write('after\n');
      expect(term.raw.length).to.equal(before + 'after\n'.length);
    });
  });

  describe('summary', () => {
    const summary: BackfillSummary = {
      id: 'bf-20261201-101500-1a2b',
      dates: 28,
      requested: 2,
      elapsedMs: 83_000,
      processors: NAMES.map(([phase, processor]) => ({
        phase,
        processor,
        committed: 26,
        incomplete: 2,
        empty: 0,
        failed: 0,
        upstreamFailed: 0,
        cancelled: 0,
        waiting: 0,
        unfinished: 0,
      })),
      tables: [
        { table: 'nba_raw.nbac_player_boxscores', rows: 7094, operations: 3, modificationsToday: 0, dailyBudget: 1500 },
        { table: 'nba_predictions.player_points_predictions', rows: 6012, operations: 2, modificationsToday: 0, dailyBudget: 1500 },
      ],
      failedFile: '/tmp/x/failed/failed_dates_bf-20261201-101500-1a2b.json',
    };

    it('says per processor how the dates ended, per table the rows and table operations, the elapsed time and the failed-dates file', () => {
      const lines = summaryLines(summary);
      expect(lines[0]).to.equal('backfill bf-20261201-101500-1a2b: 28 dates × 2 processors (+7 by cascade)');
      expect(lines).to.include('elapsed 1m23s');
      expect(lines[1]).to.match(/^ {2}phase {2}processor\s+committed {2}incomplete {2}empty {2}failed$/);
      expect(lines).to.include('  2      nbac_player_boxscore                 26           2      0       0');
      expect(lines.some((l) => /^ {2}table\s+rows {2}DML stmts {2}budget used$/.test(l))).to.equal(true);
      expect(lines.some((l) => /^ {2}nba_raw\.nbac_player_boxscores\s+7,094\s+3\s+0\/1,500$/.test(l))).to.equal(true);
      expect(lines.at(-2)).to.equal(`failed dates written to ${summary.failedFile}`);
      for (const l of lines.slice(0, -2)) expect(l.length, l).to.be.at.most(79);
    });

    it('names what did not finish, only for a run stopped before its end, within 80 columns', () => {
      expect(summaryLines(summary).some((l) => l.includes('not finished'))).to.equal(false);
      const stopped = { ...summary, processors: summary.processors.map((p, i) => ({ ...p, unfinished: i > 3 ? 28 : 0, waiting: i === 4 ? 2 : 0 })) };
      const lines = summaryLines(stopped);
      // Wrapped at the width: read it as one line.
      const text = lines.join('\n').replace(/\n {4}/g, ' ');
      expect(text).to.match(/ {2}not finished: player_game_summary 30 \(2 waiting\), team_offense_game_summary 28,/);
      expect(text).to.include('player_points_predictions 28');
      for (const l of lines.slice(0, -2)) expect(l.length, l).to.be.at.most(79);
    });
  });
  describe('demo report', () => {
    it('fits an 80-column terminal: tables instead of one long line per table', () => {
      const names = NAMES.map(([, n]) => n);
      const perProcessor = (v: number) => Object.fromEntries(names.map((n) => [n, v]));
      // The real 2023-24 regular season as the demo commits it: 32,385 lines, 1,230 games, 160 dates.
      const real = realLines();
      const season = real.games.filter((g) => g.seasonType === 'Regular Season');
      const lines = season.reduce(
        (n, g) => n + (real.byGameTeam.get(`${g.gameId}:${g.homeTeamId}`)?.length ?? 0) + (real.byGameTeam.get(`${g.gameId}:${g.awayTeamId}`)?.length ?? 0),
        0,
      );
      const dates = new Set(season.map((g) => g.gameDate)).size;
      const phase = { pending: 0, running: 0, committed: 320, incomplete: 0, empty: 0, waiting: 0, failed: 0, upstream_failed: 0, cancelled: 0 };
      const report: DemoReport = {
        backfillId: 'bf-20261201-101500-1a2b',
        dates: 163,
        datesCommitted: perProcessor(163),
        datesIncomplete: perProcessor(0),
        datesEmpty: perProcessor(0),
        phases: Object.fromEntries([1, 2, 3, 4, 5].map((p) => [`phase ${p}`, phase])),
        failed: 0,
        failedDatesFiles: [],
        tables: ['nba_raw.nbac_player_boxscores', 'nba_predictions.player_points_predictions'].map((table) => ({
          table,
          rows: lines,
          dates,
          games: season.length,
          warnings: 12,
          tableOperations: 9,
          peakRunningDml: 1,
          peakQueuedDml: 0,
        })),
        samplePredictions: [{ gameDate: '2024-04-14', player: 'Jalen Brunson', team: 'NYK', predicted: 37.6, actual: 40, basis: 'last5_last10' }],
        coverage: {
          scheduledGames: 1_236,
          coveredGames: 1_236,
          bySourceTier: { 'nbac gold': 1_230, 'bdl silver': 6 },
          notGold: [{ gameId: '0052400101', gameDate: '2025-04-15', source: 'bdl', tier: 'silver' }],
          uncovered: [],
        },
        elapsedSeconds: 52.3,
        timeScale: 10,
      };
      const text = formatDemo(report, { duckdbPath: '/home/someone/projects/phasegate/.phasegate/warehouse.duckdb' } as Config);
      for (const line of text.split('\n')) expect(line.length, line).to.be.at.most(79);
      expect([lines, season.length, dates]).to.deep.equal([32_385, 1_230, 160]);
      expect(text).to.match(/^ {2}nba_raw\.nbac_player_boxscores\s+32,385\s+1,230\s+160\s+12$/m);
      expect(text).to.match(/^ {2}nba_raw\.nbac_player_boxscores\s+9\s+0\.055\s+1\s+0$/m);
      expect(text).to.not.include('failed-dates file');
    });

    it('explains warnings and DML, and prints the failed-dates file it wrote', () => {
      const table = (name: string) => ({ table: name, rows: 120, dates: 1, games: 6, warnings: 3, tableOperations: 1, peakRunningDml: 1, peakQueuedDml: 0 });
      const file = '/srv/pg/.phasegate/failed/failed_dates_bf-20261201-101500-1a2b.json';
      const report: DemoReport = {
        backfillId: 'bf-20261201-101500-1a2b',
        dates: 1,
        datesCommitted: { nbac_player_boxscore: 0, bdl_player_boxscore: 1 },
        datesIncomplete: { nbac_player_boxscore: 1, bdl_player_boxscore: 0 },
        datesEmpty: { nbac_player_boxscore: 0, bdl_player_boxscore: 0 },
        phases: {},
        failed: 0,
        failedDatesFiles: [file],
        tables: [table('nba_raw.nbac_player_boxscores'), table('nba_raw.bdl_player_boxscores')],
        samplePredictions: [],
        coverage: { scheduledGames: 6, coveredGames: 6, bySourceTier: { 'nbac gold': 5, 'bdl silver': 1 }, notGold: [], uncovered: [] },
        elapsedSeconds: 3,
        timeScale: 10,
      };
      const text = formatDemo(report, { duckdbPath: '/tmp/w.duckdb' } as Config);
      for (const line of text.split('\n')) expect(line.length, line).to.be.at.most(79);
      expect(text).to.match(/^ {2}bdl_player_boxscore\s+1\s+0\s+0$/m);
      expect(text).to.match(/^ {2}nba_raw\.bdl_player_boxscores\s+120\s+6\s+1\s+3$/m);
      expect(text).to.include('(warnings: rows kept with a data-quality note');
      expect(text.replace(/\n +/g, ' ')).to.include('(DML: the group commits the run took, as `status` and the dashboard count them;');
      // The path whole on a line of its own, and the command that retries it.
      expect(text.split('\n')).to.include(`  ${file}`);
      expect(text.replace(/\n +/g, ' ')).to.include(`phasegate backfill --retry-failed ${file}`);
    });
  });
});
