// Partner tests: analysts' own sample-based tests, next to their mappings (partners/<id>/tests/*.yaml).
// An inbound case runs a sample file through the partner and compares the events, the per-unit errors
// and the acknowledgment; an outbound case renders a command JSON and compares the file byte for byte.
// Everything runs on a frozen clock and frozen control numbers, so results are reproducible.

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { isCollection, isMap, isScalar, isSeq, parseDocument, stringify, type Node, type Pair, type YAMLMap } from 'yaml';
import { z } from 'zod';
import { Timestamp } from '../canonical/index.js';
import { catalogue, isKnownCode } from '../errors/catalogue.js';
import { buildAcks } from '../translators/x12/acks/build.js';
import { partnerAckOptions } from './partner-acks.js';
import { inspectX12Sync } from '../translators/x12/inspect.js';
import { didYouMean, formatDiagnostic, shownPath, sortDiagnostics, type Diagnostic } from './diagnostics.js';
import { jsonPosition, parseJsonText } from './json-text.js';
import { checkCommand, type CommandCheck, type CommandProblem } from './command-json.js';
import { compilePartner, PartnerRegistry, type CompiledPartner } from './registry.js';
import { MappingFailure } from './spec.js';
import { sniffFormat, translateCsv, translateX12, translateXml, type TranslatedUnit } from './translate.js';
import { notAFile, YamlSource } from './yaml-source.js';
import { zodDiagnostics } from './zod-diagnostics.js';

/** An expected file's path: an empty one named the test folder itself (EISDIR), or was never compared. */
const expectedPath = z.string().min(1, 'the path of an expected file, relative to the test file (leave the key out to check nothing)');

const caseSchema = z.strictObject({
  description: z.string().optional(),
  /** Inbound: a sample file, relative to the test file. */
  input: z.string().optional(),
  /** Outbound: a canonical command JSON, relative to the test file. */
  command: z.string().optional(),
  /**
   * Outbound: which of the partner's routes for the command's type renders it, as `waybill render --format`
   * chooses (a partner may send a tender as X12 and as CSV). Default: the first route for the type.
   */
  format: z.enum(['x12', 'csv', 'xml']).optional(),
  /**
   * Frozen clock; also the receivedAt of inbound events, so it is held to the canonical rule for a
   * timestamp (ISO 8601 with seconds and an offset) here, at its key, rather than failing every unit with
   * MAP_CANONICAL_INVALID.
   */
  now: Timestamp.default('2025-01-01T00:00:00Z'),
  expect: z.strictObject({
    /** JSON file (relative) holding the expected events, or the events inline. */
    events: z.union([expectedPath, z.array(z.unknown())]).optional(),
    /** Expected failures: one entry per failing unit, `{ code, line? }`. Default: none. */
    errors: z.array(z.strictObject({ code: z.string(), line: z.number().int().optional() })).default([]),
    /** Expected acknowledgment text (relative file), for X12 inputs. */
    ack: expectedPath.optional(),
    /** Expected outbound file (relative), for command cases. */
    output: expectedPath.optional(),
  }),
}).refine((c) => (c.input === undefined) !== (c.command === undefined), { message: "a test case has either 'input' (inbound) or 'command' (outbound)" });

export interface PartnerTestResult {
  partner: string;
  file: string;
  ok: boolean;
  /** Readable differences, each followed by the actual output (or the file it was written to), one line per entry. */
  diffs: string[];
  /** Expected files written by --update (the test file itself when its inline expectations were rewritten). */
  updated: string[];
}

/** A structural diff of two JSON values: one line per differing path. */
export function jsonDiff(expected: unknown, actual: unknown, path = ''): string[] {
  const at = path || '(root)';
  if (Array.isArray(expected) && Array.isArray(actual)) {
    const out: string[] = [];
    const n = Math.max(expected.length, actual.length);
    for (let i = 0; i < n; i++) {
      if (i >= actual.length) out.push(`- ${path}[${i}]: expected ${short(expected[i])}, missing`);
      else if (i >= expected.length) out.push(`+ ${path}[${i}]: unexpected ${short(actual[i])}`);
      else out.push(...jsonDiff(expected[i], actual[i], `${path}[${i}]`));
    }
    return out;
  }
  if (isObj(expected) && isObj(actual)) {
    const out: string[] = [];
    for (const k of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
      const p = path ? `${path}.${k}` : k;
      if (!(k in actual)) out.push(`- ${p}: expected ${short(expected[k])}, missing`);
      else if (!(k in expected)) out.push(`+ ${p}: unexpected ${short(actual[k])}`);
      else out.push(...jsonDiff(expected[k], actual[k], p));
    }
    return out;
  }
  return JSON.stringify(expected) === JSON.stringify(actual) ? [] : [`~ ${at}: expected ${short(expected)}, got ${short(actual)}`];
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function short(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? 'undefined' : s.length > 100 ? `${s.slice(0, 97)}...` : s;
}

/** A line diff of two texts: the first differing lines with a little context. */
export function textDiff(expected: string, actual: string): string[] {
  if (expected === actual) return [];
  const e = expected.split('\n');
  const a = actual.split('\n');
  const out: string[] = [];
  for (let i = 0; i < Math.max(e.length, a.length) && out.length < 12; i++) {
    if (e[i] !== a[i]) {
      out.push(`line ${i + 1}:`);
      if (e[i] !== undefined) out.push(`- ${JSON.stringify(e[i]).slice(1, -1)}`);
      if (a[i] !== undefined) out.push(`+ ${JSON.stringify(a[i]).slice(1, -1)}`);
    }
  }
  return out;
}

/** Frozen control numbers: interchange 1, group 1, transaction 0001, then counting up. */
export function frozenControls() {
  const next = { interchange: 1, group: 1, transaction: 1 };
  return {
    next(kind: 'interchange' | 'group' | 'transaction'): string {
      const n = next[kind]++;
      return kind === 'transaction' ? String(n).padStart(4, '0') : String(n);
    },
  };
}

async function translateSample(file: string, registry: PartnerRegistry, partner: CompiledPartner, now: string): Promise<TranslatedUnit[]> {
  const bytes = readFileSync(file);
  const opts = { partner: partner.id, fileId: 'sha256-test', fileName: basename(file), receivedAt: now };
  const units: TranslatedUnit[] = [];
  const format = sniffFormat(bytes.subarray(0, 512));
  if (format === 'x12') for await (const u of translateX12(bytes, registry, opts)) units.push(u);
  else if (format === 'csv') for await (const u of translateCsv(file, partner, opts)) units.push(u);
  else units.push(translateXml(bytes, partner, opts));
  return units;
}

function ackText(file: string, partner: CompiledPartner, now: string): string {
  const report = inspectX12Sync(readFileSync(file));
  let control = 1;
  // As the gateway builds them (partnerAckOptions), with a frozen clock and control numbers from 1.
  return report.interchanges.map((ic) => buildAcks(ic, {
    ...partnerAckOptions(partner),
    controls: { interchange: control++, group: 1, transaction: (i: number) => String(i + 1).padStart(4, '0') },
    now: new Date(now),
  }).text ?? '').join('');
}

function readExpected(file: string): string | null {
  return existsSync(file) ? readFileSync(file, 'utf8') : null;
}

// ---- the actual output, shown after a failed comparison ----

/**
 * Up to this size the actual output is printed under its diff, where the analyst is already reading: an
 * acknowledgment, a 204 (30-50 lines), one event. Bigger output (six status events are some 250 lines of
 * JSON) would bury the diff, so it goes to a file instead.
 */
const INLINE_ACTUAL = { lines: 60, chars: 6000 };

/** Where an actual output too big to print goes: next to the expected file, `.actual` before its extension (so editors and diff tools treat both alike). */
function actualPath(expectedFile: string): string {
  const ext = extname(expectedFile);
  return `${expectedFile.slice(0, expectedFile.length - ext.length)}.actual${ext}`;
}

/** A line as printed: control characters (an X12 delimiter such as 0x1D, a CR before the newline) spelled out. */
function visible(line: string): string {
  return line.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, (c) => (c === '\r' ? '\\r' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/**
 * The actual output that failed to match `file`: its lines when small, else the path it was written to,
 * named as diagnostics name files (from the working folder), so that the analyst can open it as printed.
 */
function showActual(file: string, actual: string): string[] {
  const lines = actual.replace(/\n$/, '').split('\n');
  if (lines.length <= INLINE_ACTUAL.lines && actual.length <= INLINE_ACTUAL.chars) {
    clearActual(file);
    return ['actual output:', ...lines.map((l) => `  ${visible(l)}`)];
  }
  writeFileSync(actualPath(file), actual);
  return [`actual output (${lines.length} lines) written to ${shownPath(resolve(actualPath(file)))}`];
}

/** A stale actual file (from an earlier failing run) would be mistaken for the current output, or committed. */
function clearActual(file: string): void {
  rmSync(actualPath(file), { force: true });
}

// ---- JSON files of a case (expected events, outbound commands) ----

/** A case file that is not valid JSON: reported as `file:line:col CODE message`, as the YAML problems are. */
class CaseFileError extends Error {
  constructor(readonly diagnostic: Diagnostic) {
    super(diagnostic.message);
  }
}

/** JSON.parse, with a syntax error turned into a TEST_JSON_INVALID diagnostic naming the file and the place. */
/**
 * TEST_CASE_INVALID for an outbound case's command that is no valid command: schema problems (with the
 * keys its type does not know, which may be the reason a key is missing), else the unknown keys alone,
 * else what the file holds instead of a command.
 */
function commandDiagnostic(file: string, text: string, checked: Extract<CommandCheck, { ok: false }>): Diagnostic {
  const byKind = (k: CommandProblem['kind']) => checked.problems.filter((p) => p.kind === k);
  const unknown = byKind('unknown-key').map((p) => `${p.path}${p.kind === 'unknown-key' && p.hint ? ` (did you mean '${p.hint}'?)` : ''}`).join(', ');
  const unknownPart = unknown && `the command has keys ${checked.type} does not know: ${unknown}`;
  const schema = [...byKind('root'), ...byKind('schema')];
  let message: string;
  if (schema.length > 0) {
    message = `the command is not a valid ${checked.type ?? 'command'}: ${schema.map((p) => `${p.path}: ${p.message}`).join('; ')}${unknownPart ? `; ${unknownPart}` : ''}`;
  } else if (unknownPart) {
    message = unknownPart;
  } else {
    message = checked.problems.map((p) => `${p.path}: ${p.message}`).join('; ');
  }
  // Placed at the first problem the text shows: a wrong value, else a key its type does not know (often the
  // reason a required key is missing), else the object that lacks a key.
  const places = checked.problems.map((p) => jsonPosition(text, p.path, { key: p.kind === 'unknown-key' }));
  const first = places.findIndex((p, i) => p.exact && checked.problems[i].kind !== 'unknown-key');
  const unknownAt = checked.problems.findIndex((p) => p.kind === 'unknown-key');
  const at = places[first >= 0 ? first : unknownAt >= 0 ? unknownAt : 0] ?? { line: 1, column: 1 };
  return { code: 'TEST_CASE_INVALID', severity: 'error', file, line: at.line, column: at.column, message };
}

function parseJsonFile(file: string, text: string): unknown {
  const json = parseJsonText(text);
  if (json.ok) return json.value;
  throw new CaseFileError({ code: 'TEST_JSON_INVALID', severity: 'error', message: `not valid JSON: ${json.message}`, file, line: json.line, column: json.column });
}

// ---- inline expectations (in the test YAML itself), rewritten by --update ----

type InlineKey = 'errors' | 'events';

/** The value as YAML lines, unindented: errors one flow map a line, as analysts write them; events in block style. */
function yamlLines(key: InlineKey, value: unknown[]): string[] {
  if (key === 'errors') return value.map((e) => `- ${stringify(e, { collectionStyle: 'flow', lineWidth: 0 }).trimEnd()}`);
  return value.length ? stringify(value, { lineWidth: 0 }).trimEnd().split('\n') : [];
}

/** `: []`, or a colon and the lines below it at `indent`. */
function afterKey(lines: string[], indent: number): string {
  return lines.length ? `:${lines.map((l) => `\n${' '.repeat(indent)}${l}`).join('')}` : ': []';
}

function columnOf(text: string, offset: number): number {
  return offset - (text.lastIndexOf('\n', offset - 1) + 1);
}

/** The offset past the newline ending the line that holds offset - 1 (the end of the text when none does). */
function endOfLine(text: string, offset: number): number {
  const nl = text.indexOf('\n', Math.max(0, offset - 1));
  return nl < 0 ? text.length : nl + 1;
}

/**
 * Replaces a pair's value. A block list keeps its place and indentation, the comment on its key's line and
 * those at the end of its expected errors (keptComments; null when a comment inside it cannot be kept);
 * anything else (a flow list, nothing) is rewritten from the colon, so a comment after it stays after it.
 */
function replaceValue(text: string, pair: Pair, inline: InlineKey, lines: string[]): string | null {
  const key = pair.key as Node;
  const value = pair.value as Node | null;
  if (!key.range || !value?.range) return null;
  // A block list's range runs past its last newline; that newline belongs to the lines after it.
  let end = value.range[1];
  while (end > value.range[0] && /[\r\n]/.test(text[end - 1])) end--;
  if (lines.length && isCollection(value) && !value.flow) {
    const start = value.range[0];
    const kept = keptComments(inline, text, value, start, end, lines);
    if (kept === null) return null;
    return text.slice(0, start) + kept.join(`\n${' '.repeat(columnOf(text, start))}`) + text.slice(end);
  }
  return text.slice(0, key.range[1]) + afterKey(lines, columnOf(text, key.range[0]) + 2) + text.slice(end);
}

/** Where a comment starts in `line` (a `#` at its start or after a space, outside quotes), or -1. */
function commentStart(line: string): number {
  let quote = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || line[i - 1] === ' ' || line[i - 1] === '\t')) return i;
  }
  return -1;
}

/**
 * The new lines of a block list with the comments of the old one kept: a comment at the end of a one-line
 * expected error (`- { code: MAP_UNMAPPED_CODE, line: 27 }  # the BO status`) goes with the new entry of
 * the same code. Null when the old list has a comment that cannot be placed so (on a line of its own,
 * inside an entry of several lines, among inline events): rewriting would lose it, so the analyst is told
 * what to write instead.
 */
function keptComments(key: InlineKey, text: string, list: Node, start: number, end: number, lines: string[]): string[] | null {
  if (!isSeq(list)) return lines;
  const old = list.items.map((item) => ({ item: item as Node, code: isMap(item) ? String(item.get('code') ?? '') : '', comment: '' }));
  for (let at = text.lastIndexOf('\n', start - 1) + 1; at < end; at = endOfLine(text, at + 1)) {
    const line = text.slice(at, Math.min(endOfLine(text, at + 1), end)).replace(/\r?\n$/, '');
    const c = commentStart(line);
    if (c < 0) continue;
    const owner = old.find(({ item }) => item.range != null && item.range[0] >= at && item.range[1] <= at + c);
    if (key !== 'errors' || !owner || owner.code === '' || text.slice(owner.item.range![0], owner.item.range![1]).includes('\n')) return null;
    owner.comment = line.slice(c);
  }
  return lines.map((l) => {
    const code = /code: ([^,}\s]+)/.exec(l)?.[1];
    const o = old.find((x) => x.comment !== '' && x.code === code);
    if (!o) return l;
    const comment = o.comment;
    o.comment = '';
    return `${l}  ${comment}`;
  });
}

/** Adds `key:` on a line of its own after the last entry of a block map, at the entries' indentation. */
function appendPair(text: string, map: YAMLMap, key: string, lines: string[]): string | null {
  const first = map.items[0]?.key as Node | undefined;
  if (!first?.range || !map.range) return null;
  const indent = columnOf(text, first.range[0]);
  const at = endOfLine(text, map.range[1]);
  const line = `${at === text.length && !text.endsWith('\n') ? '\n' : ''}${' '.repeat(indent)}${key}${afterKey(lines, indent + 2)}\n`;
  return text.slice(0, at) + line + text.slice(at);
}

/**
 * `text` with `expect.<key>` set to `value` and everything else byte for byte as it was: comments, layout
 * and quoting stay, so the analyst reviews a diff of the expectation alone (re-serialising the document
 * would refold long lines and move comments). Null when the layout is not one this edits (`expect` written
 * as a flow map) or the edit would not read back as `value`: the change is then left to the analyst.
 */
export function setInlineExpectation(text: string, key: InlineKey, value: unknown[]): string | null {
  const doc = parseDocument(text);
  const expect = doc.get('expect', true);
  if (doc.errors.length || !isMap(expect) || expect.flow) return null;
  const pair = expect.items.find((p) => isScalar(p.key) && p.key.value === key);
  const edited = pair ? replaceValue(text, pair, key, yamlLines(key, value)) : appendPair(text, expect, key, yamlLines(key, value));
  if (edited === null) return null;
  const want = doc.toJS() as { expect: Record<string, unknown> };
  want.expect[key] = value;
  const back = parseDocument(edited);
  return back.errors.length === 0 && isDeepStrictEqual(back.toJS(), want) ? edited : null;
}

/** What to write by hand when --update cannot rewrite an inline expectation. */
function byHand(key: InlineKey, value: unknown[]): string[] {
  const lines = yamlLines(key, value);
  return [
    `not updated: --update cannot rewrite expect.${key} in this file's layout; change it by hand to:`,
    ...(lines.length ? [`  ${key}:`, ...lines.map((l) => `    ${l}`)] : [`  ${key}: []`]),
  ];
}

// ---- one case ----

/** What the checks of one case share. */
interface CaseRun {
  testFile: string;
  /** The test file's YAML, for diagnostics at its keys. */
  src: YamlSource;
  update: boolean;
  result: PartnerTestResult;
  /** Inline expectations for --update to rewrite in the test file once the case has run. */
  inline: { key: InlineKey; value: unknown[] }[];
}

function fail(run: CaseRun, lines: string[]): void {
  run.result.ok = false;
  run.result.diffs.push(...lines);
}

/**
 * Compares (or, under --update, writes) one expected file, given relative to the test file at
 * `expect.<key>`. A path that is there but no file (a folder, a broken link) is the case's mistake, said at
 * the key; a missing file is TEST_EXPECTED_MISSING there, with the closest file of its folder, and
 * --update creates it (and its folder).
 */
function compareFile(run: CaseRun, key: 'events' | 'ack' | 'output', expectedFile: string, actual: string, kind: 'json' | 'text'): void {
  const path = resolve(dirname(run.testFile), expectedFile);
  const why = notAFile(path);
  if (why !== null && why !== 'does not exist') {
    return fail(run, [formatDiagnostic(run.src.diagnostic('TEST_CASE_INVALID', `expected file '${expectedFile}' ${why}`, ['expect', key]))]);
  }
  const expected = readExpected(path);
  if (run.update) {
    clearActual(path);
    if (expected !== actual) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, actual);
      run.result.updated.push(path);
    }
    return;
  }
  if (expected === null) {
    const near = namesNear(path).map((f) => join(dirname(expectedFile), f).replace(/\\/g, '/'));
    return fail(run, [formatDiagnostic(run.src.diagnostic('TEST_EXPECTED_MISSING', `expected file '${expectedFile}' does not exist (run with --update to create it)`,
      ['expect', key], { suggestion: didYouMean(expectedFile, near) }))]);
  }
  const diffs = kind === 'json' ? jsonDiff(parseJsonFile(path, expected), JSON.parse(actual), 'events') : textDiff(expected, actual);
  if (!diffs.length) return clearActual(path);
  fail(run, [`${expectedFile}:`, ...shownDiffs(diffs), ...showActual(path, actual)]);
}

/**
 * The differences as printed, indented: the first MAX_DIFF_LINES, then how many more. A mapping change
 * that alters every event of a large sample made one line per field of every event (10,000 lines); the
 * actual output printed or written after them holds the rest.
 */
const MAX_DIFF_LINES = 50;

function shownDiffs(diffs: string[]): string[] {
  const shown = diffs.slice(0, MAX_DIFF_LINES).map((d) => `  ${d}`);
  if (diffs.length > MAX_DIFF_LINES) shown.push(`  ... and ${diffs.length - MAX_DIFF_LINES} more differences`);
  return shown;
}

/** Inline events (`expect.events: [...]`): compared, shown like an expected file's (next to the test file when big), rewritten by --update. */
function compareInlineEvents(run: CaseRun, expected: unknown[], actualJson: string): void {
  const actual = JSON.parse(actualJson) as unknown[];
  const diffs = jsonDiff(expected, actual, 'events');
  const asFile = join(dirname(run.testFile), `${basename(run.testFile, extname(run.testFile))}.events.json`);
  if (!diffs.length) return clearActual(asFile);
  if (run.update) {
    clearActual(asFile);
    run.inline.push({ key: 'events', value: actual });
    return;
  }
  fail(run, ['events:', ...shownDiffs(diffs), ...showActual(asFile, actualJson)]);
}

type ExpectedError = { code: string; line?: number };

/**
 * The expected unit failures against the actual ones. --update rewrites them from the actual ones; an entry
 * the analyst wrote without a line stays without one while its code still matches.
 */
function compareErrors(run: CaseRun, units: TranslatedUnit[], want: ExpectedError[]): void {
  const failed = units.filter((u) => u.status !== 'translated');
  const got = failed.map((u) => {
    const e = u.errors.find((x) => x.severity === 'error');
    return { code: e?.code ?? u.status, line: e?.line ?? u.line };
  });
  // An expected entry without a line matches any line.
  const diffs = jsonDiff(want.map((e) => ({ code: e.code, ...(e.line !== undefined && { line: e.line }) })),
    got.map((g, i) => ({ code: g.code, ...(want[i]?.line !== undefined && { line: g.line }) })), 'errors');
  if (!diffs.length) return;
  if (run.update) {
    run.inline.push({ key: 'errors', value: got.map((g, i) => (want[i] && want[i].line === undefined && want[i].code === g.code ? { code: g.code } : g)) });
    return;
  }
  const actual = failed.map((u) => ({ unit: u.label, status: u.status, errors: u.errors.filter((e) => e.severity === 'error').map((e) => `${e.line}:${e.column} ${e.code} ${e.message}`) }));
  fail(run, ['unit failures:', ...shownDiffs(diffs), ...actual.flatMap((f) => [`  ${f.unit}: ${f.status}`, ...f.errors.map((e) => `    ${e}`)])]);
}

/**
 * An outbound case's expected failure against the render's: none, or the one MappingFailure (its code,
 * and its mapping line when the entry gives one). --update rewrites them as for an inbound case.
 */
function compareRenderErrors(run: CaseRun, failure: MappingFailure | undefined, want: ExpectedError[]): void {
  const got = failure ? [{ code: failure.code, line: failure.mapping?.line }] : [];
  const diffs = jsonDiff(want.map((e) => ({ code: e.code, ...(e.line !== undefined && { line: e.line }) })),
    got.map((g, i) => ({ code: g.code, ...(want[i]?.line !== undefined && { line: g.line }) })), 'errors');
  if (!diffs.length) return;
  if (run.update) {
    run.inline.push({ key: 'errors', value: got.map((g, i) => (want[i]?.line === undefined || g.line === undefined ? { code: g.code } : g)) });
    return;
  }
  fail(run, ['render failures:', ...shownDiffs(diffs), failure ? `  ${failure.code} ${failure.message}` : '  the command rendered without a failure']);
}

/** Rewrites the inline expectations --update collected, in one write; those it cannot edit fail the case with what to write instead. */
function rewriteInline(run: CaseRun): void {
  const before = readFileSync(run.testFile, 'utf8');
  let text = before;
  for (const { key, value } of run.inline) {
    const edited = setInlineExpectation(text, key, value);
    if (edited === null) fail(run, byHand(key, value));
    else text = edited;
  }
  if (text === before) return;
  writeFileSync(run.testFile, text);
  run.result.updated.push(run.testFile);
}

/** The case and its YAML (for positions), or null when its file is not a valid case (the problems are then in the result). */
function readCase(testFile: string, result: PartnerTestResult): { tc: z.infer<typeof caseSchema>; src: YamlSource } | null {
  const src = YamlSource.load(testFile, 'TEST_CASE_INVALID');
  // After a YAML syntax error the value is unusable: report the syntax error alone, not what it hid.
  const problems = src.diagnostics.some((d) => d.severity === 'error') ? [...src.diagnostics] : [...src.diagnostics, ...zodDiagnostics(src, caseSchema, 'TEST_CASE_INVALID')];
  const parsed = caseSchema.safeParse(src.value ?? {});
  if (!problems.length && parsed.success) return { tc: parsed.data, src };
  result.ok = false;
  result.diffs.push(...sortDiagnostics(problems).map(formatDiagnostic));
  if (!problems.length && !parsed.success) result.diffs.push(`${testFile}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  return null;
}

/** The names in the folder `file` would be in ([] when there is no such folder): they feed did-you-means. */
function namesNear(file: string): string[] {
  try {
    return readdirSync(dirname(file));
  } catch {
    return [];
  }
}

/** A case's input or command file that is not there: TEST_CASE_INVALID at the key, with the closest file of that folder. */
function missingFile(src: YamlSource, key: 'input' | 'command', name: string): CaseFileError {
  const dir = dirname(resolve(dirname(src.file), name));
  const near = existsSync(dir) ? readdirSync(dir).map((f) => join(dirname(name), f).replace(/\\/g, '/')) : [];
  // A folder, a broken link, ...: said as such (reading it failed later with a bare EISDIR).
  const why = existsSync(resolve(dirname(src.file), name)) ? notAFile(resolve(dirname(src.file), name)) ?? 'cannot be read' : 'does not exist';
  return new CaseFileError(src.diagnostic('TEST_CASE_INVALID', `${key} file '${name}' ${why}`, [key],
    { suggestion: why === 'does not exist' ? didYouMean(name, near) : undefined }));
}

/** `format` chooses an outbound route; an inbound sample's format is read from the file itself. */
function formatOnInbound(src: YamlSource): CaseFileError {
  return new CaseFileError(src.diagnostic('TEST_CASE_INVALID',
    "'format' chooses the outbound route of a 'command' case; an 'input' case reads its format from the sample: remove it", ['format'], { key: true }));
}

/**
 * The route that renders the case's command: the first for its type, or the one in `format`. A format the
 * partner has no route for is the case's mistake, reported at the key with the formats there are.
 */
function outboundRoute(src: YamlSource, partner: CompiledPartner, type: string, format: 'x12' | 'csv' | 'xml' | undefined) {
  const routes = partner.outbound.filter((r) => r.command === type);
  if (routes.length === 0) throw Object.assign(new Error(`partner '${partner.id}' has no outbound mapping for ${type}`), { code: 'MAP_NO_MAPPING' });
  if (format === undefined) return routes[0];
  const route = routes.find((r) => r.format === format);
  if (route) return route;
  throw new CaseFileError(src.diagnostic('TEST_CASE_INVALID',
    `partner '${partner.id}' has no ${format} outbound mapping for ${type} (it has ${routes.map((r) => r.format).join(', ')}): use one of those, or add the route to partner.yaml`,
    ['format']));
}

async function runCase(testFile: string, partner: CompiledPartner, registry: PartnerRegistry, update: boolean): Promise<PartnerTestResult> {
  const result: PartnerTestResult = { partner: partner.id, file: testFile, ok: true, diffs: [], updated: [] };
  const read = readCase(testFile, result);
  if (!read) return result;
  const { tc, src } = read;
  const run: CaseRun = { testFile, src, update, result, inline: [] };
  const rel = (p: string) => resolve(dirname(testFile), p);

  try {
    // An expected code that no failure can ever have (a typo) would fail the case with a puzzling diff.
    tc.expect.errors.forEach((e, i) => {
      if (isKnownCode(e.code)) return;
      throw new CaseFileError(src.diagnostic('TEST_CASE_INVALID', `'${e.code}' is not an error code Waybill reports`, ['expect', 'errors', i, 'code'],
        { suggestion: didYouMean(e.code, Object.keys(catalogue)) }));
    });
    if (tc.input !== undefined) {
      if (tc.format !== undefined) throw formatOnInbound(src);
      const input = rel(tc.input);
      if (notAFile(input) !== null) throw missingFile(src, 'input', tc.input);
      const units = await translateSample(input, registry, partner, tc.now);
      compareErrors(run, units, tc.expect.errors);
      const eventsJson = `${JSON.stringify(units.flatMap((u) => u.events), null, 2)}\n`;
      if (typeof tc.expect.events === 'string') compareFile(run, 'events', tc.expect.events, eventsJson, 'json');
      else if (Array.isArray(tc.expect.events)) compareInlineEvents(run, tc.expect.events, eventsJson);
      if (tc.expect.ack !== undefined) compareFile(run, 'ack', tc.expect.ack, ackText(input, partner, tc.now), 'text');
    } else {
      const commandFile = rel(tc.command!);
      if (notAFile(commandFile) !== null) throw missingFile(src, 'command', tc.command!);
      const commandText = readFileSync(commandFile, 'utf8');
      const checked = checkCommand(parseJsonFile(commandFile, commandText), 'an outbound case renders');
      if (!checked.ok) throw new CaseFileError(commandDiagnostic(commandFile, commandText, checked));
      const addressee = (checked.value as { partner?: unknown }).partner;
      if (typeof addressee === 'string' && addressee !== partner.id) {
        const { line, column } = jsonPosition(commandText, 'partner');
        throw new CaseFileError({ code: 'TEST_CASE_INVALID', severity: 'error', file: commandFile, line, column,
          message: `the command is for partner '${addressee}', not '${partner.id}', whose test this is` });
      }
      const route = outboundRoute(src, partner, checked.type, tc.format);
      let doc: { text: string } | undefined;
      let failure: MappingFailure | undefined;
      try {
        doc = route.mapping.render(checked.value, { controls: frozenControls(), now: new Date(tc.now) });
      } catch (err) {
        // A case may expect the render to fail (expect.errors): then the failure is the result compared.
        if (!(err instanceof MappingFailure) || (tc.expect.errors.length === 0 && !run.update)) throw err;
        failure = err;
      }
      compareRenderErrors(run, failure, tc.expect.errors);
      if (doc && tc.expect.output !== undefined) compareFile(run, 'output', tc.expect.output, doc.text, 'text');
    }
    if (run.inline.length) rewriteInline(run);
  } catch (err) {
    result.ok = false;
    if (err instanceof CaseFileError) result.diffs.push(formatDiagnostic(err.diagnostic));
    else {
      const m = err instanceof MappingFailure && err.mapping ? ` (mapping ${err.mapping.file}:${err.mapping.line}:${err.mapping.column})` : '';
      result.diffs.push(`${(err as { code?: string }).code ? `${(err as { code: string }).code} ` : ''}${(err as Error).message}${m}`);
    }
  }
  return result;
}

export interface PartnerTestOptions {
  update?: boolean;
  /**
   * Partner folder -> the case files (paths) to run in it; a folder not in the map runs all its cases.
   * So `waybill test <case>.yaml --update` runs, and rewrites, that case alone.
   */
  cases?: ReadonlyMap<string, readonly string[]>;
}

/** The case files of a partner folder (tests/*.yaml, sorted), or only those of them in `only`. */
function caseFiles(dir: string, only: readonly string[] | undefined): string[] {
  const testsDir = join(dir, 'tests');
  const all = existsSync(testsDir) ? readdirSync(testsDir).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(testsDir, f)) : [];
  if (!only) return all;
  const wanted = new Set(only.map((f) => resolve(f)));
  return all.filter((f) => wanted.has(resolve(f)));
}

/** The cases chosen in `dir`, however its path was spelt (relative, with a trailing slash). */
function casesOf(cases: PartnerTestOptions['cases'], dir: string): readonly string[] | undefined {
  if (!cases) return undefined;
  for (const [d, files] of cases) if (resolve(d) === resolve(dir)) return files;
  return undefined;
}

/** Runs the tests of the given partner folders (every partner under `root` when none is given). */
export async function runPartnerTests(root: string, folders: string[], opts: PartnerTestOptions = {}): Promise<PartnerTestResult[]> {
  // Samples are small: their events are validated by zod, with no fast path compiled (ZOD_ONLY_EVENTS).
  const { registry } = PartnerRegistry.load(root, { prepareValidation: false });
  const results: PartnerTestResult[] = [];
  for (const dir of folders) {
    // A folder under the root was compiled with it (and compiled cleanly, or it would not be listed).
    const loaded = registry.list().find((p) => resolve(p.dir) === resolve(dir));
    const { partner, diagnostics } = loaded ? { partner: loaded, diagnostics: [] } : compilePartner(dir, { prepareValidation: false });
    const files = caseFiles(dir, casesOf(opts.cases, dir));
    if (!partner) {
      results.push({ partner: basename(dir), file: join(dir, 'partner.yaml'), ok: false, updated: [],
        diffs: ['the partner does not compile (run waybill lint):', ...sortDiagnostics(diagnostics).filter((d) => d.severity === 'error').map((d) => `  ${formatDiagnostic(d)}`)] });
      continue;
    }
    // Always the folder under test, even when a partner of the same id was loaded from the partners root
    // (a copy being edited outside it): X12 cases look their partner up in the registry by id.
    registry.add(partner);
    for (const f of files) results.push(await runCase(f, partner, registry, opts.update ?? false));
  }
  return results;
}

export function describeResult(r: PartnerTestResult, cwd = process.cwd()): string {
  const name = relative(cwd, r.file);
  const head = `${r.ok ? 'ok  ' : 'FAIL'} ${name}${r.updated.length ? `  (updated ${r.updated.map((u) => relative(cwd, u)).join(', ')})` : ''}`;
  // Diagnostics name their files as lint prints them: relative to the working folder when inside it.
  const shown = (d: string) => (d.startsWith(`${cwd}/`) ? d.slice(cwd.length + 1) : d);
  return r.ok ? head : [head, ...r.diffs.map((d) => `    ${shown(d)}`)].join('\n');
}
