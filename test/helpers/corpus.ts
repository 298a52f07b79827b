// Locates the shared corpus beside the clone (../shared/corpus). Tests that need it skip when absent.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const corpusDir = fileURLToPath(new URL('../../../shared/corpus/', import.meta.url));
export const hasCorpus = existsSync(`${corpusDir}EXPECTED.json`);

export interface CorpusExpectation {
  verdict: 'accept' | 'reject' | 'any';
  interchanges: number;
  groups: number;
  transactions: number;
  reasons: string;
}

export function corpusExpectations(): Record<string, CorpusExpectation> {
  return hasCorpus ? (JSON.parse(readFileSync(`${corpusDir}EXPECTED.json`, 'utf8')) as Record<string, CorpusExpectation>) : {};
}

export function corpusFile(rel: string): Buffer {
  return readFileSync(`${corpusDir}${rel}`);
}

/** Every file below `dir` (recursively) whose path matches `pattern` (default: .edi files). */
export function ediFiles(dir: string, pattern: RegExp = /\.edi$/): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? ediFiles(p, pattern) : pattern.test(p) ? [p] : [];
  });
}
