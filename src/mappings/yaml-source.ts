// YAML with positions: analysts' files are parsed once, and every later diagnostic can point back at
// the line and column of the key or value it is about.
import { lstatSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node, type YAMLError } from 'yaml';
import type { Diagnostic } from './diagnostics.js';

export type YamlPath = readonly (string | number)[];

export interface Position {
  line: number;
  column: number;
}

/**
 * Why `file` is no file YamlSource.load can read, or null when it is a regular file (or a link to one).
 * Checked before reading because a folder throws EISDIR, and a FIFO would block the read forever.
 */
export function notAFile(file: string): string | null {
  let st;
  try {
    st = statSync(file, { throwIfNoEntry: false });
  } catch (err) {
    return `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`; // ELOOP, EACCES on a parent
  }
  if (st?.isFile()) return null;
  if (st?.isDirectory()) return 'is a folder, not a file';
  if (st) return 'is not a regular file (a FIFO, socket or device)';
  if (lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink()) return `is a symbolic link to '${readlinkSync(file)}', which does not exist`;
  return 'does not exist';
}

export class YamlSource {
  readonly value: unknown;
  readonly diagnostics: Diagnostic[] = [];

  private constructor(
    readonly file: string,
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
    unreadable?: Diagnostic,
  ) {
    if (unreadable) {
      this.diagnostics.push(unreadable);
      this.value = undefined;
      return;
    }
    for (const e of doc.errors) this.diagnostics.push(this.parserDiagnostic(e, 'YAML_SYNTAX', 'error'));
    for (const w of doc.warnings) this.diagnostics.push(this.parserDiagnostic(w, 'YAML_WARNING', 'warning'));
    // Duplicate keys are errors in YAML 1.2 and `yaml` reports them; aliases are bounded to stop "billion laughs".
    this.value = doc.errors.length === 0 ? this.toValue() : undefined;
  }

  /**
   * The document as plain data. `yaml` reports an alias without its anchor (`*nope`) or too many aliases
   * only here, by throwing: that becomes a YAML_SYNTAX diagnostic at the first such alias, not a crash.
   */
  private toValue(): unknown {
    try {
      return this.doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      let at: Position = { line: 1, column: 1 };
      const unresolved = /unresolved alias/i.test((err as Error).message);
      visit(this.doc, {
        Alias: (_key, node) => {
          if (unresolved && node.resolve(this.doc) !== undefined) return undefined;
          if (node.range) at = this.posOfOffset(node.range[0]);
          return visit.BREAK;
        },
      });
      this.diagnostics.push({ code: 'YAML_SYNTAX', severity: 'error', message: (err as Error).message.split('\n')[0], file: this.file, ...at });
      return undefined;
    }
  }

  static parse(text: string, file: string): YamlSource {
    const lines = new LineCounter();
    // prettyErrors off: the pretty form appends " at line L, column C:" and a code excerpt to each message,
    // which a diagnostic (file:line:col, one line) says already; parserDiagnostic places the bare message.
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, strict: true });
    return new YamlSource(file, doc, lines);
  }

  /**
   * Reads and parses `file`. A path that is no readable file (a folder, a broken symbolic link, a FIFO,
   * no permission) is an analyst's mistake, not a crash: the source then has no value and one error,
   * `code` at 1:1 of that path (callers name the code of what the file should have been: TABLE_INVALID,
   * PARTNER_FILE_MISSING, ...).
   */
  static load(file: string, code = 'YAML_FILE_UNREADABLE'): YamlSource {
    let why = notAFile(file);
    let text = '';
    if (why === null) {
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        why = `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
      }
    }
    if (why === null) return YamlSource.parse(text, file);
    const lines = new LineCounter();
    const failure: Diagnostic = { code, severity: 'error', message: `'${basename(file)}' ${why}, where a YAML file is expected (replace it with the file, or remove it)`, file, line: 1, column: 1 };
    return new YamlSource(file, parseDocument('', { lineCounter: lines }), lines, failure);
  }

  private nodeAt(path: YamlPath): Node | null {
    let node: unknown = this.doc.contents;
    for (const part of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(part));
        node = pair?.value ?? null;
      } else if (isSeq(node) && typeof part === 'number') {
        node = node.items[part] ?? null;
      } else {
        return null;
      }
    }
    return (node as Node) ?? null;
  }

  /**
   * The text of a plain (unquoted) scalar that YAML reads as a number other than the one its text shows
   * to someone who means a code: `035` is 35, `090` is 90, `1.50` is 1.5, `1e3` is 1000. Null for any
   * other node (a quoted string, a number written as itself such as 400). Codes compared or looked up as
   * such numbers never match what a file holds.
   */
  numberWrittenAs(path: YamlPath, opts: { key?: boolean } = {}): string | null {
    const node = opts.key ? this.keyNodeAt(path) : this.nodeAt(path);
    if (!isScalar(node) || typeof node.value !== 'number' || node.type !== 'PLAIN') return null;
    const text = node.source;
    return typeof text === 'string' && text !== String(node.value) ? text : null;
  }

  private keyNodeAt(path: YamlPath): Node | null {
    if (path.length === 0) return null;
    const parent = this.nodeAt(path.slice(0, -1));
    if (!isMap(parent)) return null;
    const last = String(path[path.length - 1]);
    const pair = parent.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === last);
    return (pair?.key as Node) ?? null;
  }

  /** A parser error or warning as a diagnostic: its own sentence, where it starts (1:1 when the parser gives no offset). */
  private parserDiagnostic(e: YAMLError, code: 'YAML_SYNTAX' | 'YAML_WARNING', severity: Diagnostic['severity']): Diagnostic {
    const { line, column } = e.pos[0] >= 0 ? this.posOfOffset(e.pos[0]) : { line: 1, column: 1 };
    return { code, severity, message: e.message.split('\n')[0], file: this.file, line, column };
  }

  private posOfOffset(offset: number): Position {
    const p = this.lines.linePos(offset);
    return { line: p.line, column: p.col };
  }

  /**
   * Where the value at `path` starts; with `key: true`, where its key starts. Falls back to the
   * closest existing ancestor, so a diagnostic about a missing field points at the object that lacks it.
   */
  position(path: YamlPath, opts: { key?: boolean } = {}): Position {
    for (let n = path.length; n >= 0; n--) {
      const sub = path.slice(0, n);
      const node = opts.key && n === path.length ? this.keyNodeAt(sub) ?? this.nodeAt(sub) : this.nodeAt(sub);
      if (node?.range) return this.posOfOffset(node.range[0]);
    }
    return { line: 1, column: 1 };
  }

  diagnostic(code: string, message: string, path: YamlPath, extra: { key?: boolean; severity?: 'error' | 'warning'; suggestion?: string } = {}): Diagnostic {
    const pos = this.position(path, { key: extra.key });
    return {
      code, severity: extra.severity ?? 'error', message, file: this.file, line: pos.line, column: pos.column,
      ...(extra.suggestion !== undefined && { suggestion: extra.suggestion }),
    };
  }
}
