// Runs the waybill CLI as a user would: a real child process, real stdout/stderr and exit status.
// From source through tsx, so `npm test` needs no build first.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
// tsx resolved from the repo, so the CLI also runs with a cwd outside it (temp partner folders).
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export function waybill(args: string[], opts: { cwd?: string; input?: string } = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', tsx, `${repoRoot}src/cli/main.ts`, ...args], {
    cwd: opts.cwd ?? repoRoot,
    input: opts.input,
    encoding: 'utf8',
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
    timeout: 60_000,
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
