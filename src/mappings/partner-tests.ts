// Partner tests: analysts' own sample-based tests, next to their mappings (partners/<id>/tests/*.yaml).
// An inbound case runs a sample file through the partner and compares the events, the per-unit errors
// and the acknowledgment; an outbound case renders a command JSON and compares the file byte for byte.
// Everything runs on a frozen clock and frozen control numbers, so results are reproducible.

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { parseAs, type TypeKey } from '../canonical/index.js';
import { buildAcks } from '../translators/x12/acks/build.js';
import { inspectX12Sync } from '../translators/x12/inspect.js';
import { formatDiagnostic, sortDiagnostics } from './diagnostics.js';
import { compilePartner, PartnerRegistry, type CompiledPartner } from './registry.js';
import { MappingFailure } from './spec.js';
import { sniffFormat, translateCsv, translateX12, translateXml, type TranslatedUnit } from './translate.js';
import { YamlSource } from './yaml-source.js';
import { zodDiagnostics } from './zod-diagnostics.js';

const caseSchema = z.strictObject({
  description: z.string().optional(),
  /** Inbound: a sample file, relative to the test file. */
  input: z.string().optional(),
  /** Outbound: a canonical command JSON, relative to the test file. */
  command: z.string().optional(),
  /** Frozen clock (ISO 8601 with offset); also the receivedAt of inbound events. */
  now: z.string().default('2025-01-01T00:00:00Z'),
  expect: z.strictObject({
    /** JSON file (relative) holding the expected events, or the events inline. */
    events: z.union([z.string(), z.array(z.unknown())]).optional(),
    /** Expected failures: one entry per failing unit, `{ code, line? }`. Default: none. */
    errors: z.array(z.strictObject({ code: z.string(), line: z.number().int().optional() })).default([]),
    /** Expected acknowledgment text (relative file), for X12 inputs. */
    ack: z.string().optional(),
    /** Expected outbound file (relative), for command cases. */
    output: z.string().optional(),
  }),
}).refine((c) => (c.input === undefined) !== (c.command === undefined), { message: "a test case has either 'input' (inbound) or 'command' (outbound)" });

export interface PartnerTestResult {
  partner: string;
  file: string;
  ok: boolean;
  /** Readable differences, one per line. */
  diffs: string[];
  /** Expected files written by --update. */
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
  const a = partner.config.acknowledgments;
  let control = 1;
  return report.interchanges.map((ic) => buildAcks(ic, {
    policy: { ta1: a.ta1, functional: a.functional, version: a.version },
    controls: { interchange: control++, group: 1, transaction: (i: number) => String(i + 1).padStart(4, '0') },
    now: new Date(now),
    suffix: partner.config.x12?.delimiters.lineEnding ?? '\n',
  }).text ?? '').join('');
}

function readExpected(file: string): string | null {
  return existsSync(file) ? readFileSync(file, 'utf8') : null;
}

async function runCase(testFile: string, partner: CompiledPartner, registry: PartnerRegistry, update: boolean): Promise<PartnerTestResult> {
  const result: PartnerTestResult = { partner: partner.id, file: testFile, ok: true, diffs: [], updated: [] };
  const src = YamlSource.load(testFile);
  // After a YAML syntax error the value is unusable: report the syntax error alone, not what it hid.
  const problems = src.diagnostics.some((d) => d.severity === 'error') ? [...src.diagnostics] : [...src.diagnostics, ...zodDiagnostics(src, caseSchema, 'TEST_CASE_INVALID')];
  const parsed = caseSchema.safeParse(src.value ?? {});
  if (problems.length || !parsed.success) {
    result.ok = false;
    result.diffs.push(...sortDiagnostics(problems).map(formatDiagnostic));
    if (!problems.length && !parsed.success) result.diffs.push(`${testFile}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    return result;
  }
  const tc = parsed.data;
  const here = dirname(testFile);
  const rel = (p: string) => resolve(here, p);
  const compare = (expectedFile: string, actual: string, kind: 'json' | 'text') => {
    const path = rel(expectedFile);
    const expected = readExpected(path);
    if (update) {
      if (expected !== actual) {
        writeFileSync(path, actual);
        result.updated.push(path);
      }
      return;
    }
    if (expected === null) {
      result.ok = false;
      result.diffs.push(`missing expected file ${expectedFile} (run with --update to create it)`);
      return;
    }
    const diffs = kind === 'json' ? jsonDiff(JSON.parse(expected), JSON.parse(actual), 'events') : textDiff(expected, actual);
    if (diffs.length) {
      result.ok = false;
      result.diffs.push(`${expectedFile}:`, ...diffs.map((d) => `  ${d}`));
    }
  };

  try {
    if (tc.input !== undefined) {
      const input = rel(tc.input);
      if (!existsSync(input)) throw new Error(`input ${tc.input} does not exist`);
      const units = await translateSample(input, registry, partner, tc.now);
      const events = units.flatMap((u) => u.events);
      const failures = units.filter((u) => u.status !== 'translated').map((u) => ({
        unit: u.label, status: u.status, errors: u.errors.filter((e) => e.severity === 'error').map((e) => `${e.line}:${e.column} ${e.code} ${e.message}`),
      }));
      const wantErrors = tc.expect.errors;
      const gotErrors = units.filter((u) => u.status !== 'translated').map((u) => {
        const e = u.errors.find((x) => x.severity === 'error');
        return { code: e?.code ?? u.status, line: e?.line ?? u.line };
      });
      const errDiffs = jsonDiff(wantErrors.map((e) => ({ code: e.code, ...(e.line !== undefined && { line: e.line }) })),
        gotErrors.map((g, i) => ({ code: g.code, ...(wantErrors[i]?.line !== undefined && { line: g.line }) })), 'errors');
      if (errDiffs.length && !update) {
        result.ok = false;
        result.diffs.push('unit failures:', ...errDiffs.map((d) => `  ${d}`), ...failures.flatMap((f) => [`  ${f.unit}: ${f.status}`, ...f.errors.map((e) => `    ${e}`)]));
      }
      const eventsJson = `${JSON.stringify(events, null, 2)}\n`;
      if (typeof tc.expect.events === 'string') compare(tc.expect.events, eventsJson, 'json');
      else if (Array.isArray(tc.expect.events)) {
        const d = jsonDiff(tc.expect.events, JSON.parse(eventsJson), 'events');
        if (d.length) {
          result.ok = false;
          result.diffs.push('events:', ...d.map((x) => `  ${x}`));
        }
      }
      if (tc.expect.ack) compare(tc.expect.ack, ackText(input, partner, tc.now), 'text');
    } else {
      const commandFile = rel(tc.command!);
      if (!existsSync(commandFile)) throw new Error(`command ${tc.command} does not exist`);
      const command = JSON.parse(readFileSync(commandFile, 'utf8')) as { type?: string };
      const checked = parseAs(String(command.type) as TypeKey, command);
      if (!checked.ok) throw new Error(`the command is not a valid ${String(command.type)}: ${checked.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
      const route = partner.outbound.find((r) => r.command === command.type);
      if (!route) throw new Error(`partner '${partner.id}' has no outbound mapping for ${String(command.type)}`);
      const doc = route.mapping.render(checked.value, { controls: frozenControls(), now: new Date(tc.now) });
      if (tc.expect.output) compare(tc.expect.output, doc.text, 'text');
    }
  } catch (err) {
    result.ok = false;
    const m = err instanceof MappingFailure && err.mapping ? ` (mapping ${err.mapping.file}:${err.mapping.line}:${err.mapping.column})` : '';
    result.diffs.push(`${(err as { code?: string }).code ? `${(err as { code: string }).code} ` : ''}${(err as Error).message}${m}`);
  }
  return result;
}

/** Runs the tests of the given partner folders (every partner under `root` when none is given). */
export async function runPartnerTests(root: string, folders: string[], opts: { update?: boolean } = {}): Promise<PartnerTestResult[]> {
  const { registry } = PartnerRegistry.load(root);
  const results: PartnerTestResult[] = [];
  for (const dir of folders) {
    const { partner, diagnostics } = compilePartner(dir);
    const testsDir = join(dir, 'tests');
    const files = existsSync(testsDir) ? readdirSync(testsDir).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(testsDir, f)) : [];
    if (!partner) {
      results.push({ partner: basename(dir), file: join(dir, 'partner.yaml'), ok: false, updated: [],
        diffs: ['the partner does not compile (run waybill lint):', ...sortDiagnostics(diagnostics).filter((d) => d.severity === 'error').map((d) => `  ${formatDiagnostic(d)}`)] });
      continue;
    }
    if (!registry.get(partner.id)) registry.add(partner);
    for (const f of files) results.push(await runCase(f, partner, registry, opts.update ?? false));
  }
  return results;
}

export function describeResult(r: PartnerTestResult, cwd = process.cwd()): string {
  const name = relative(cwd, r.file);
  const head = `${r.ok ? 'ok  ' : 'FAIL'} ${name}${r.updated.length ? `  (updated ${r.updated.map((u) => relative(cwd, u)).join(', ')})` : ''}`;
  return r.ok ? head : [head, ...r.diffs.map((d) => `    ${d}`)].join('\n');
}
