// Code tables: partner or standard codes -> canonical codes. Shared tables live in src/mappings/tables;
// a partner's tables/<name>.yaml with the same name extends the shared one (its values win).
import { existsSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { Diagnostic } from './diagnostics.js';
import { YamlSource } from './yaml-source.js';
import { zodDiagnostics } from './zod-diagnostics.js';

export interface CodeTable {
  name: string;
  description?: string;
  unmapped: 'error' | 'pass-through';
  default?: string;
  values: Map<string, string>;
  /** Files this table was assembled from (shared first). */
  files: string[];
  /**
   * Where each value and the default are written (the file that gave them: a partner's entry overrides
   * the shared one), so that a value the canonical schema refuses is reported at its own line.
   */
  positions: { values: Map<string, TablePosition>; default?: TablePosition };
}

export interface TablePosition {
  file: string;
  line: number;
  column: number;
}

const tableSchema = z.strictObject({
  description: z.string().optional(),
  // Optional: a partner table extending a shared one inherits its policy unless it gives its own.
  unmapped: z.enum(['error', 'pass-through']).optional(),
  default: z.string().optional(),
  // Keys and values are codes: YAML may read `01` or `1` as numbers, so both are accepted and stringified.
  values: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
});

export const sharedTablesDir = fileURLToPath(new URL('./tables/', import.meta.url));

export class CodeTables {
  private readonly tables = new Map<string, CodeTable>();
  /** Names of table files that did not load (their own diagnostics say why). */
  private readonly failed = new Set<string>();

  /** Names mappings asked for (compile time only: mappings keep the table itself), for TABLE_UNUSED. */
  readonly asked = new Set<string>();

  get(name: string): CodeTable | undefined {
    this.asked.add(name);
    return this.tables.get(name);
  }

  /** Whether a file of this table was found but did not load: a mapping naming it needs no error of its own. */
  failedToLoad(name: string): boolean {
    return this.failed.has(name);
  }

  names(): string[] {
    return [...this.tables.keys()].sort();
  }

  /** Loads every *.yaml in `dir`; tables already present are extended. Returns diagnostics. */
  loadDir(dir: string): Diagnostic[] {
    if (!existsSync(dir)) return [];
    const out: Diagnostic[] = [];
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml') || n.endsWith('.yml')).sort()) {
      out.push(...this.loadFile(join(dir, f)));
    }
    return out;
  }

  loadFile(file: string): Diagnostic[] {
    const src = YamlSource.load(file);
    const name = basename(file).replace(/\.ya?ml$/, '');
    const diags = [...src.diagnostics];
    if (diags.some((d) => d.severity === 'error')) {
      this.failed.add(name);
      return diags;
    }
    diags.push(...zodDiagnostics(src, tableSchema, 'TABLE_INVALID'));
    const parsed = tableSchema.safeParse(src.value ?? {});
    if (!parsed.success) {
      this.failed.add(name);
      return diags;
    }
    const existing = this.tables.get(name);
    const values = new Map(existing?.values ?? []);
    const positions = new Map(existing?.positions.values ?? []);
    const at = (path: string[]): TablePosition => ({ file, ...src.position(path) });
    for (const [k, v] of Object.entries(parsed.data.values)) {
      // `090: detention` is the number 90 to YAML: the code 090 would never be found.
      const written = src.numberWrittenAs(['values', k], { key: true });
      if (written !== null) {
        diags.push(src.diagnostic('TABLE_INVALID', `${written} is read as the number ${k}, so code '${written}' would never be found: quote it`,
          ['values', k], { key: true, suggestion: `'${written}'` }));
        continue;
      }
      // Codes are looked up exactly: 'AA ' never matches the AA an X12 element (or a trimmed CSV column) holds.
      if (k.trim() !== k) {
        diags.push(src.diagnostic('TABLE_CODE_SPACES', `code '${k}' ${/^\s/.test(k) ? 'starts' : 'ends'} with white space: codes are looked up exactly, so it matches only a value with the same spaces`,
          ['values', k], { key: true, severity: 'warning', suggestion: `'${k.trim()}'` }));
      }
      values.set(k, String(v));
      positions.set(k, at(['values', k]));
    }
    this.tables.set(name, {
      name,
      description: parsed.data.description ?? existing?.description,
      unmapped: parsed.data.unmapped ?? existing?.unmapped ?? 'error',
      default: parsed.data.default ?? existing?.default,
      values,
      files: [...(existing?.files ?? []), file],
      positions: {
        values: positions,
        default: parsed.data.default !== undefined ? at(['default']) : existing?.positions.default,
      },
    });
    return diags;
  }

  /** A copy whose partner-specific additions do not leak into the shared set. */
  clone(): CodeTables {
    const c = new CodeTables();
    for (const name of this.failed) c.failed.add(name);
    for (const [k, t] of this.tables) {
      c.tables.set(k, { ...t, values: new Map(t.values), files: [...t.files], positions: { ...t.positions, values: new Map(t.positions.values) } });
    }
    return c;
  }
}

let shared: { tables: CodeTables; diagnostics: Diagnostic[] } | null = null;

/** The shared tables, loaded once per process. */
export function sharedTables(): { tables: CodeTables; diagnostics: Diagnostic[] } {
  if (!shared) {
    const tables = new CodeTables();
    const diagnostics = tables.loadDir(sharedTablesDir);
    shared = { tables, diagnostics };
  }
  return shared;
}
