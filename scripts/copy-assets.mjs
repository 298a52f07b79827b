// Copies non-TypeScript data (transaction-set schemas, ...) next to the compiled code,
// so that modules find their data files at the same relative path in src/ and dist/.
import { cpSync, existsSync } from 'node:fs';

const assets = ['translators/x12/schemas', 'mappings/tables'];
for (const rel of assets) {
  const from = new URL(`../src/${rel}`, import.meta.url);
  if (existsSync(from)) cpSync(from, new URL(`../dist/${rel}`, import.meta.url), { recursive: true });
}
