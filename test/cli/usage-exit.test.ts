// Exit statuses of usage and configuration mistakes, from a real `waybill` process: a missing command or
// subcommand is a usage error (2), not success; a bad `--config` for serve / sftp host-key is a coded
// error with exit 2, never an internal error (70) and never a gateway that starts anyway.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, waybill } from '../helpers/cli.js';

const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/**
 * `waybill ARGS` killed after `timeoutMs`: a `serve` whose config is wrongly accepted would run until
 * stopped, and should fail the test quickly rather than at the test timeout.
 */
function waybillBounded(args: string[], timeoutMs = 20_000): Promise<{ status: number | null; output: string; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', tsx, `${repoRoot}src/cli/main.ts`, ...args], {
      cwd: repoRoot, env: { ...process.env, NODE_NO_WARNINGS: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let killed = false;
    const timer = setTimeout(() => { killed = true; child.kill('SIGKILL'); }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => { output += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { output += d; });
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, output, killed });
    });
  });
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'wb-usage-exit-'));
  dirs.push(d);
  return d;
}

describe('a missing command or subcommand', () => {
  it('prints help to stderr and exits 2: waybill, waybill dlq, waybill sftp', async () => {
    const results = await Promise.all([[], ['dlq'], ['sftp']].map((args) => waybill(args)));
    for (const [i, r] of results.entries()) {
      expect(r.status, `args #${i}`).toBe(2);
      expect(r.stderr, `args #${i}`).toContain('Usage: waybill');
      expect(r.stdout, `args #${i}`).toBe('');
    }
    expect(results[1].stderr).toContain('replay');
    expect(results[2].stderr).toContain('host-key');
  });

  it('help asked for still exits 0: --help, dlq --help, help, help dlq', async () => {
    const results = await Promise.all([['--help'], ['dlq', '--help'], ['help'], ['help', 'dlq']].map((args) => waybill(args)));
    for (const [i, r] of results.entries()) {
      expect(r.status, `args #${i}`).toBe(0);
      expect(r.stdout, `args #${i}`).toContain('Usage: waybill');
    }
  });
});

describe('waybill help NAME...', () => {
  it('an unknown NAME is CLI_USAGE with a did-you-mean and exit 2, as `waybill NAME` is (it was the general help, or the group\'s with exit 0)', async () => {
    const [top, nested] = await Promise.all([['help', 'transalte'], ['help', 'dlq', 'lst']].map((args) => waybill(args)));
    expect(top.status).toBe(2);
    expect(top.stderr).toMatch(/^waybill: CLI_USAGE: unknown command 'transalte'\n\(Did you mean translate\?\)/);
    expect(top.stderr).not.toContain('Usage: waybill');
    expect(nested.status).toBe(2);
    expect(nested.stderr).toMatch(/^waybill: CLI_USAGE: unknown command 'lst'\n\(Did you mean list\?\)/);
    expect(nested.stdout).toBe('');
  });

  it('help dlq list shows the help of dlq list (it was the dlq group\'s), help help the general help with exit 0 (it was 2)', async () => {
    const [list, help] = await Promise.all([['help', 'dlq', 'list'], ['help', 'help']].map((args) => waybill(args)));
    expect(list.status).toBe(0);
    expect(list.stdout).toContain('Usage: waybill dlq list [options]');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: waybill [options] [command]');
  });
});

describe('serve and sftp host-key with a bad --config', () => {
  it('a folder as --config: CONFIG_FILE_UNREADABLE and exit 2, for both commands', async () => {
    const dir = tempDir();
    const [serve, hostKey] = await Promise.all([
      waybillBounded(['serve', '--config', dir]),
      waybillBounded(['sftp', 'host-key', '--config', dir]),
    ]);
    for (const r of [serve, hostKey]) {
      expect(r.output).not.toContain('internal error');
      expect(r.output).toContain(`${dir}:1:1 CONFIG_FILE_UNREADABLE ${dir} is a folder, not a config file`);
      expect(r.status).toBe(2);
    }
  });

  it('a webhook url that is not http(s): CONFIG_INVALID at its line, exit 2, nothing started', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'partners'));
    const file = join(dir, 'waybill.yaml');
    // An unreachable Redis and port 0: a wrongly accepted config must not touch the shared Redis.
    writeFileSync(file, ['dataDir: data', 'partnersDir: partners', 'redisUrl: redis://127.0.0.1:1', 'http: { port: 0 }',
      'inbound: { folder: null }', 'webhook:', '  url: ftp://erp.example/events', '  secret: 0123456789abcdef', ''].join('\n'));
    const r = await waybillBounded(['serve', '--config', file]);
    expect(r.killed).toBe(false);
    expect(r.output).toContain(`${file}:7:8 CONFIG_INVALID webhook.url: 'ftp://erp.example/events' is not an http:// or https:// URL`);
    expect(r.output).not.toContain('gateway');
    expect(r.status).toBe(2);
  });

  it('a partnersDir that does not exist: CONFIG_INVALID naming it, exit 2, nothing started; sftp host-key does not need it', async () => {
    const dir = tempDir();
    const file = join(dir, 'waybill.yaml');
    writeFileSync(file, ['dataDir: data', 'partnersDir: no-such-partners', 'redisUrl: redis://127.0.0.1:1', 'http: { port: 0 }',
      'inbound: { folder: null }', 'sftp: { port: 0 }', ''].join('\n'));
    const [serve, hostKey] = await Promise.all([waybillBounded(['serve', '--config', file]), waybillBounded(['sftp', 'host-key', '--config', file])]);
    expect(serve.killed).toBe(false);
    expect(serve.output).toContain(`${file}:2:14 CONFIG_INVALID partnersDir ${join(dir, 'no-such-partners')} does not exist`);
    expect(serve.output).not.toContain('gateway');
    expect(serve.status).toBe(2);
    // host-key reads only dataDir: its answer is about the key (none generated yet), not about partners.
    expect(hostKey.output).toContain('CLI_FILE_NOT_FOUND: no host key at');
    expect(hostKey.output).not.toContain('partnersDir');
  });

  it('sftp host-key on a key file that is no key: SFTP_HOST_KEY_INVALID and exit 2, as its help says (it was 1)', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data', 'key'), 'junk\n');
    const file = join(dir, 'waybill.yaml');
    writeFileSync(file, ['dataDir: data', 'sftp:', '  hostKeyPath: data/key', ''].join('\n'));
    const r = await waybillBounded(['sftp', 'host-key', '--config', file]);
    expect(r.output).toContain(`waybill: SFTP_HOST_KEY_INVALID: SFTP host key ${join(dir, 'data', 'key')} is not an unencrypted OpenSSH/PEM private key`);
    expect(r.status).toBe(2);
  });
});
