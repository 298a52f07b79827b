// A ledger damaged in the middle (a page zeroed by a failing disk or a crash mid-write). SQLite reads a
// page only when it needs it, so such a ledger opened and the gateway ran in a broken state: the first
// intake that touched the page was refused and retried for ever, a translation that met it failed its
// file. After a run that did not stop cleanly the gateway now checks every page first (quick_check) and
// refuses a damaged ledger with LEDGER_OPEN_FAILED; a clean stop leaves a mark that spares the next start
// the check (seconds per GB).
import { closeSync, existsSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/gateway/config.js';
import { startGateway } from '../../src/gateway/gateway.js';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { captureLog } from '../helpers/log.js';
import { REDIS_URL, cleanRedis, genCarrierPartners, tempDir, uniquePrefix } from './support.js';

const dirs: string[] = [];
const prefixes: string[] = [];
afterAll(async () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  for (const p of prefixes) await cleanRedis(p);
});

function setup(name: string) {
  const dir = tempDir(`ledger-integrity-${name}`);
  dirs.push(dir);
  const prefix = uniquePrefix(`integrity-${name}`);
  prefixes.push(prefix);
  const partnersDir = join(dir, 'partners');
  genCarrierPartners(partnersDir);
  const dataDir = join(dir, 'data');
  const config = configSchema.parse({
    dataDir, partnersDir, redisUrl: REDIS_URL, queuePrefix: prefix, http: { port: 0 }, inbound: { folder: null }, reloadMs: 0, log: { level: 'silent' },
  });
  return { dataDir, ledgerFile: join(dataDir, 'ledger.db'), config };
}

/** A ledger of some pages, closed cleanly (no WAL left), with one page in the middle zeroed. */
async function damagedLedger(ledgerFile: string): Promise<void> {
  const ledger = new SqliteLedger(ledgerFile);
  for (let i = 0; i < 200; i++) await ledger.audit({ action: 'test.filler', details: { i, text: 'x'.repeat(400) } });
  await ledger.close();
  const size = statSync(ledgerFile).size;
  const page = 4096;
  expect(size).toBeGreaterThan(10 * page);
  const fd = openSync(ledgerFile, 'r+');
  writeSync(fd, Buffer.alloc(page), 0, page, Math.floor(size / page / 2) * page);
  closeSync(fd);
}

describe('the ledger after a run that did not stop cleanly', () => {
  it('a ledger damaged in the middle is refused at start with LEDGER_OPEN_FAILED (it used to open, and fail later)', async () => {
    const { ledgerFile, config } = setup('damaged');
    await damagedLedger(ledgerFile);
    // quick_check reports the damage, or meets it first (SQLITE_CORRUPT): either way the start is refused.
    await expect(startGateway(config, captureLog())).rejects.toMatchObject({
      code: 'LEDGER_OPEN_FAILED', message: expect.stringMatching(/integrity check found damage|disk image is malformed/),
    });
  });

  it('a clean stop leaves its mark, the next start skips the check and takes the mark away while it runs', async () => {
    const { dataDir, config } = setup('clean');
    const mark = join(dataDir, 'ledger.clean-stop');
    const firstLog = captureLog();
    const first = await startGateway(config, firstLog);
    expect(firstLog.entries.some((e) => e.msg?.startsWith('ledger: the last run did not stop cleanly'))).toBe(true);
    expect(existsSync(mark)).toBe(false);
    await first.stop();
    expect(existsSync(mark)).toBe(true);
    const secondLog = captureLog();
    const second = await startGateway(config, secondLog);
    try {
      expect(secondLog.entries.some((e) => e.msg?.startsWith('ledger: the last run did not stop cleanly'))).toBe(false);
      // Killed now, this run would leave no mark: the next start checks.
      expect(existsSync(mark)).toBe(false);
    } finally {
      await second.stop();
    }
  });
});
