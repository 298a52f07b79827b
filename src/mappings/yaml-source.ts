// YAML with positions: analysts' files are parsed once, and every later diagnostic can point back at
// the line and column of the key or value it is about.
import { lstatSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { basename } from 'node:path';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node, type Pair, type YAMLError, type YAMLMap } from 'yaml';
import { firstInvalidUtf8 } from '../translators/utf8.js';
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
    // Duplicate keys are errors in YAML 1.2 (the later value would silently win): worded as the library words them.
    const duplicates = doc.errors.length === 0 ? duplicateKeyOffsets(doc) : [];
    for (const offset of duplicates) {
      this.diagnostics.push({ code: 'YAML_SYNTAX', severity: 'error', message: 'Map keys must be unique', file, ...this.posOfOffset(offset) });
    }
    for (const w of doc.warnings) this.diagnostics.push(this.parserDiagnostic(w, 'YAML_WARNING', 'warning'));
    // Aliases are bounded to stop "billion laughs".
    this.value = doc.errors.length === 0 && duplicates.length === 0 ? this.toValue() : undefined;
  }

  /**
   * The document as plain data. `yaml` reports an alias without its anchor (`*nope`) or too many aliases
   * only here, by throwing: that becomes a YAML_SYNTAX diagnostic at the first such alias, not a crash.
   */
  private toValue(): unknown {
    const recursive = this.recursiveAlias();
    if (recursive) {
      this.diagnostics.push(recursive);
      return undefined;
    }
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

  /**
   * An alias inside the node its anchor names (`x: &x { first: [B10.03, *x] }`): YAML makes that a value
   * containing itself, which the library returns as a cyclic object and every compiler walking it would
   * follow until the stack overflows. A YAML_SYNTAX at the alias instead.
   */
  private recursiveAlias(): Diagnostic | null {
    let found: Diagnostic | null = null;
    // The anchors met so far, in document order (an alias names the latest before it): one pass, where
    // Alias.resolve would search the document again for each alias (minutes for a table of 20,000).
    const anchors = new Map<string, Node>();
    visit(this.doc, {
      Node: (_key, node, path) => {
        if (isAlias(node)) {
          const target = anchors.get(node.source);
          if (target === undefined || !path.includes(target)) return undefined;
          found = {
            code: 'YAML_SYNTAX', severity: 'error', file: this.file, ...(node.range ? this.posOfOffset(node.range[0]) : { line: 1, column: 1 }),
            message: `Recursive alias: *${node.source} is inside the node its anchor &${node.source} names, so the value would contain itself; write the value out instead`,
          };
          return visit.BREAK;
        }
        if (node.anchor) anchors.set(node.anchor, node);
        return undefined;
      },
    });
    return found;
  }

  static parse(text: string, file: string): YamlSource {
    // A CR alone ends a line as editors show it (a file saved with old Mac line ends), which the library
    // reads as part of the text: the whole file was one line, "a mapping file is a YAML map ..." at 1:1.
    // Each becomes an LF, one character for one, so offsets, lines and columns stay those of the file.
    if (text.includes('\r')) text = text.replace(/\r(?!\n)/g, '\n');
    const lines = new LineCounter();
    // prettyErrors off: the pretty form appends " at line L, column C:" and a code excerpt to each message,
    // which a diagnostic (file:line:col, one line) says already; parserDiagnostic places the bare message.
    // uniqueKeys off: the library checks each key against every earlier key of its map, which took 83 s
    // for a code table of 50,000 lines; duplicateKeyOffsets finds the same duplicates in one pass.
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false, strict: true });
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
    let bytes: Buffer | null = null;
    if (why === null) {
      try {
        bytes = readFileSync(file);
      } catch (err) {
        why = `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
      }
    }
    if (why !== null || bytes === null) {
      const lines = new LineCounter();
      const failure: Diagnostic = { code, severity: 'error', message: `'${basename(file)}' ${why}, where a YAML file is expected (replace it with the file, or remove it)`, file, line: 1, column: 1 };
      return new YamlSource(file, parseDocument('', { lineCounter: lines }), lines, failure);
    }
    return YamlSource.fromBytes(bytes, file);
  }

  /** Parses a file's bytes, which must be UTF-8 text (YAML_NOT_UTF8 otherwise, at the first byte that is not). */
  static fromBytes(bytes: Buffer, file: string): YamlSource {
    const notUtf8 = notUtf8Diagnostic(bytes, file);
    if (notUtf8 === null) return YamlSource.parse(bytes.toString('utf8'), file);
    const lines = new LineCounter();
    return new YamlSource(file, parseDocument('', { lineCounter: lines }), lines, notUtf8);
  }

  /** Each map's pairs by key text (the first pair of a key), made on the map's first lookup. */
  private readonly pairIndex = new WeakMap<YAMLMap, Map<string, Pair>>();

  /** The pair whose scalar key reads as `key`: one index per map, since a diagnostic per entry of a large table looked each up. */
  private pairOf(map: YAMLMap, key: string | number): Pair | undefined {
    let index = this.pairIndex.get(map);
    if (index === undefined) {
      index = new Map();
      for (const p of map.items) {
        if (isPair(p) && isScalar(p.key)) {
          const k = String(p.key.value);
          if (!index.has(k)) index.set(k, p as Pair);
        }
      }
      this.pairIndex.set(map, index);
    }
    return index.get(String(key));
  }

  private nodeAt(path: YamlPath): Node | null {
    let node: unknown = this.doc.contents;
    for (const part of path) {
      if (isMap(node)) {
        node = this.pairOf(node, part)?.value ?? null;
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

  /**
   * The text of a plain (unquoted) scalar that YAML reads as a number, however it is written (`997`, `02`,
   * `004010`), or null: where a key wants text, the number is no answer, and the text is what to quote.
   */
  plainNumberText(path: YamlPath): string | null {
    const node = this.nodeAt(path);
    if (!isScalar(node) || typeof node.value !== 'number' || node.type !== 'PLAIN') return null;
    return typeof node.source === 'string' ? node.source : null;
  }

  private keyNodeAt(path: YamlPath): Node | null {
    if (path.length === 0) return null;
    const parent = this.nodeAt(path.slice(0, -1));
    if (!isMap(parent)) return null;
    return (this.pairOf(parent, path[path.length - 1])?.key as Node) ?? null;
  }

  /** A parser error or warning as a diagnostic: its own sentence, where it starts (1:1 when the parser gives no offset). */
  private parserDiagnostic(e: YAMLError, code: 'YAML_SYNTAX' | 'YAML_WARNING', severity: Diagnostic['severity']): Diagnostic {
    const { line, column } = e.pos[0] >= 0 ? this.posOfOffset(e.pos[0]) : { line: 1, column: 1 };
    return { code, severity, message: PARSER_WORDING[e.code] ?? e.message.split('\n')[0], file: this.file, line, column };
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

/**
 * The library's sentences that speak to a programmer rather than to whoever wrote the file: "please use
 * YAML.parseAllDocuments()" for a second document, and a JavaScript stack overflow for a value nested too
 * deeply.
 */
const PARSER_WORDING: Partial<Record<YAMLError['code'], string>> = {
  MULTIPLE_DOCS: "A second YAML document starts here ('---'): the file holds one; remove the '---' line, or move what follows to a file of its own",
  RESOURCE_EXHAUSTION: 'Nested too deeply to be read here (hundreds of levels of { } or [ ]); write the value with fewer levels',
};

/**
 * Where each key starts whose scalar value an earlier key of the same map (block or flow) has, in
 * document order: the library's own check, in one pass per map instead of one per key.
 */
function duplicateKeyOffsets(doc: Document.Parsed): number[] {
  const offsets: number[] = [];
  visit(doc, {
    Map: (_key, map) => {
      const seen = new Set<unknown>();
      for (const p of map.items) {
        if (!isScalar(p.key)) continue;
        const v = p.key.value;
        if (typeof v === 'number' && Number.isNaN(v)) continue; // NaN equals nothing, itself included
        if (seen.has(v)) offsets.push(p.key.range?.[0] ?? 0);
        else seen.add(v);
      }
    },
  });
  return offsets.sort((a, b) => a - b);
}

/**
 * YAML_NOT_UTF8 for bytes that are not UTF-8 text, or null. Read as UTF-8 anyway, a Latin-1 'é' would
 * become U+FFFD in a value or a code-table key (which then never matches) without a word; a file saved
 * as UTF-16 (NULs between ASCII letters, which UTF-8 allows) would parse as one odd string.
 */
function notUtf8Diagnostic(bytes: Buffer, file: string): Diagnostic | null {
  const save = 'save it as UTF-8';
  if (looksUtf16(bytes)) {
    return { code: 'YAML_NOT_UTF8', severity: 'error', file, line: 1, column: 1, message: `'${basename(file)}' is UTF-16 text, where YAML files are read as UTF-8: ${save}` };
  }
  if (isUtf8(bytes)) return null;
  const offset = firstInvalidUtf8(bytes);
  const before = bytes.subarray(0, offset).toString('utf8');
  const lineStart = before.lastIndexOf('\n') + 1;
  const line = before.slice(0, lineStart).split('\n').length;
  const column = [...before.slice(lineStart)].length + 1;
  const byte = bytes[offset].toString(16).toUpperCase().padStart(2, '0');
  return { code: 'YAML_NOT_UTF8', severity: 'error', file, line, column,
    message: `byte 0x${byte} at offset ${offset} is not UTF-8 (text saved as Latin-1 or Windows-1252?): ${save}` };
}

/** A UTF-16 byte order mark, or NULs alternating with the first characters (UTF-16 of ASCII text). */
function looksUtf16(b: Buffer): boolean {
  if (b.length >= 2 && ((b[0] === 0xff && b[1] === 0xfe) || (b[0] === 0xfe && b[1] === 0xff))) return true;
  const n = Math.min(b.length - (b.length % 2), 64);
  if (n < 2) return false;
  let le = true;
  let be = true;
  for (let i = 0; i < n; i += 2) {
    if (b[i] === 0 || b[i + 1] !== 0) le = false;
    if (b[i] !== 0 || b[i + 1] === 0) be = false;
  }
  return le || be;
}
