// `waybill ... | head`: the reader closing the pipe early ends the CLI quietly, without a stack trace.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_TEST_TIMEOUT, repoRoot } from '../helpers/cli.js';
import { generated214, partnersRoot } from '../queue/support.js';

const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const dir = mkdtempSync(join(tmpdir(), 'wb-pipe-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('CLI output into a pipe closed early', () => {
  it('stops with its exit status and no EPIPE stack trace', async () => {
    const file = join(dir, 'big.edi');
    writeFileSync(file, generated214(2000, 3)); // a few MB of --json output: many writes
    const tmp = join(dir, 'tmp'); // TMPDIR: where --json spools its unit summaries
    mkdirSync(tmp);
    const child = spawn(process.execPath, ['--import', tsx, `${repoRoot}src/cli/main.ts`, 'translate', file, '--json', '--partners', partnersRoot(dir)],
      { cwd: repoRoot, env: { ...process.env, NODE_NO_WARNINGS: '1', TMPDIR: tmp } });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    // Like `head -c 1`: read the first chunk, then close our end.
    child.stdout.once('data', () => child.stdout.destroy());
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
    expect(signal).toBeNull();
    expect(stderr).not.toMatch(/EPIPE|at .*\(node:/);
    // translate's own statuses (0: all translated, 1: some units failed, as this generated file has), not
    // the 1 of a crash: the stack trace check above is what tells them apart.
    expect([0, 1]).toContain(code);
    expect(stderr).toMatch(/^translate: \d+ unit\(s\)|^$/);
    // The spool went away with the process, although it stopped early.
    expect(readdirSync(tmp).filter((n) => n.startsWith('waybill-translate-'))).toEqual([]);
  }, CLI_TEST_TIMEOUT);
});
