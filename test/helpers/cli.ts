// Runs the waybill CLI as a user would: a real child process, real stdout/stderr and exit status.
// From source through tsx, so `npm test` needs no build first.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
// tsx resolved from the repo, so the CLI also runs with a cwd outside it (temp partner folders).
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/**
 * The time a test that starts several waybill processes may take. One process takes about 2 s alone, but
 * 10-25 s on a slow 2-core host while the suite's other test file starts gateways next to it (measured in
 * CI on such a host: a test starting three of them ran past 60 s). Each process still has its own 60 s
 * limit (waybill below), so a process that hangs still fails its test.
 */
export const CLI_TEST_TIMEOUT = 180_000;

/**
 * Runs `waybill ARGS` to its end. Asynchronous on purpose: a spawnSync would block the test worker's event
 * loop for as long as the CLI runs (seconds under tsx on a busy machine), and vitest's worker RPC times out
 * after 60 s of that ("Timeout calling onTaskUpdate").
 */
export function waybill(args: string[], opts: { cwd?: string; input?: string; env?: Record<string, string> } = {}): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', tsx, `${repoRoot}src/cli/main.ts`, ...args], {
      cwd: opts.cwd ?? repoRoot,
      env: { ...process.env, NODE_NO_WARNINGS: '1', ...opts.env },
      timeout: 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ status: code ?? -1, stdout, stderr }));
    child.stdin.end(opts.input);
  });
}
