import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describeResult, runPartnerTests } from '../../mappings/partner-tests.js';
import { partnerFoldersFor } from './lint.js';

export interface TestFlags {
  partners: string;
  update?: boolean;
  json?: boolean;
}

/**
 * The partner folders the paths name, and for each folder named only through case files, those cases.
 * A case file (`<partner>/tests/*.yaml`) selects that case alone, so `--update` on it never rewrites its
 * siblings' expected files; a folder, a partners root or any other file of a partner selects every case
 * of the partners it names.
 */
export function selectCases(paths: string[], partnersRoot: string): { folders: string[]; cases: Map<string, string[]> } {
  const named = new Set<string>(); // in the order first named, wholly or through a case
  const whole = new Set<string>();
  const cases = new Map<string, string[]>();
  for (const path of paths) {
    const folders = partnerFoldersFor(path, partnersRoot);
    for (const f of folders) named.add(f);
    const file = resolve(path);
    if (folders.length === 1 && isCaseFile(file, folders[0])) {
      const list = cases.get(folders[0]) ?? [];
      if (!list.includes(file)) list.push(file);
      cases.set(folders[0], list);
    } else {
      for (const f of folders) whole.add(f);
    }
  }
  // A folder named wholly runs every case, even if some of its cases were named as well.
  for (const f of whole) cases.delete(f);
  return { folders: [...named], cases };
}

/** A test case: a YAML file directly in its partner's tests/ folder (where the runner looks for cases). */
function isCaseFile(file: string, partnerDir: string): boolean {
  return existsSync(file) && statSync(file).isFile() && /\.ya?ml$/.test(file) && dirname(file) === join(partnerDir, 'tests');
}

export async function testCommand(paths: string[], flags: TestFlags): Promise<number> {
  const targets = paths.length ? paths : [flags.partners];
  const { folders, cases } = selectCases(targets, flags.partners);
  const results = await runPartnerTests(flags.partners, folders, { update: flags.update, cases });
  const failed = results.filter((r) => !r.ok).length;
  if (flags.json) process.stdout.write(`${JSON.stringify({ passed: results.length - failed, failed, results }, null, 2)}\n`);
  else {
    for (const r of results) process.stdout.write(`${describeResult(r)}\n`);
    process.stdout.write(`partner tests: ${results.length - failed} passed, ${failed} failed\n`);
  }
  return failed > 0 ? 1 : 0;
}
