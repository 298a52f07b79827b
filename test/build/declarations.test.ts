// The built package is what ERP teams import (README: `waybill/dist/queue/consumer.js`, the "typed"
// consumer helper). Without declaration files next to dist/*.js a TypeScript ERP project sees it as
// `any` (TS7016), so the build must emit them. Checked on the build's own tsconfig, as tsc reads it
// (comments, `extends`), without running the 30-second build here.
import { dirname, join } from 'node:path';
import ts from 'typescript';
import { expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';

it('npm run build emits .d.ts files, the consumer helper and the canonical types among them', () => {
  const file = join(repoRoot, 'tsconfig.build.json');
  const read = ts.readConfigFile(file, ts.sys.readFile);
  expect(read.error).toBeUndefined();
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, dirname(file), undefined, file);
  expect(parsed.errors).toEqual([]);
  expect(parsed.options.declaration).toBe(true);
  expect(parsed.options.emitDeclarationOnly ?? false).toBe(false);
  const sources = parsed.fileNames.map((f) => f.slice(repoRoot.replace(/\/$/, '').length + 1));
  expect(sources).toContain('src/queue/consumer.ts');
  expect(sources).toContain('src/canonical/index.ts');
});
