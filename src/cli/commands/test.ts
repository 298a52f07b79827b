import { describeResult, runPartnerTests } from '../../mappings/partner-tests.js';
import { partnerFoldersFor } from './lint.js';

export interface TestFlags {
  partners: string;
  update?: boolean;
  json?: boolean;
}

export async function testCommand(paths: string[], flags: TestFlags): Promise<number> {
  const targets = paths.length ? paths : [flags.partners];
  const folders = [...new Set(targets.flatMap((t) => partnerFoldersFor(t, flags.partners)))];
  const results = await runPartnerTests(flags.partners, folders, { update: flags.update });
  const failed = results.filter((r) => !r.ok).length;
  if (flags.json) process.stdout.write(`${JSON.stringify({ passed: results.length - failed, failed, results }, null, 2)}\n`);
  else {
    for (const r of results) process.stdout.write(`${describeResult(r)}\n`);
    process.stdout.write(`partner tests: ${results.length - failed} passed, ${failed} failed\n`);
  }
  return failed > 0 ? 1 : 0;
}
