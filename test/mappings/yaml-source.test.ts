// YamlSource's own diagnostics (YAML_SYNTAX, YAML_WARNING): the parser's sentence, placed at the
// parser's position. The `yaml` library's pretty form ends each message with " at line L, column C:"
// and a code excerpt, which a one-line diagnostic with its own file:line:col must not repeat.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { YamlSource } from '../../src/mappings/yaml-source.js';

const diagnostics = (text: string) => YamlSource.parse(text, 'f.yaml').diagnostics.map(({ code, severity, message, line, column }) => ({ code, severity, message, line, column }));

describe('YamlSource parser diagnostics', () => {
  it('gives the parser message alone, at its line and column', () => {
    expect(diagnostics('a: 1\nb:\n  c: 2\n  c: 3\n')).toEqual([
      { code: 'YAML_SYNTAX', severity: 'error', message: 'Map keys must be unique', line: 4, column: 3 },
    ]);
    expect(diagnostics('x: "abc\n')).toEqual([
      { code: 'YAML_SYNTAX', severity: 'error', message: 'Missing closing "quote', line: 2, column: 1 },
    ]);
    expect(diagnostics('a: !!foo 1\n')).toEqual([
      { code: 'YAML_WARNING', severity: 'warning', message: 'Unresolved tag: tag:yaml.org,2002:foo', line: 1, column: 4 },
    ]);
  });

  it('never ends a message with a position, a colon or an excerpt, whatever the error', () => {
    const texts = ['a:\n  - b\n c: [1,\n', 'k: v\n\tbad: tab\n', 'a: [1, 2\n', '- a\nb: c\n', 'a: b: c\n', 'a: 1\n---\nb\n...\n%YAML 9.9\n'];
    const found = texts.flatMap(diagnostics);
    expect(found.length).toBeGreaterThanOrEqual(texts.length);
    for (const d of found) {
      expect(d.message, JSON.stringify(d)).not.toMatch(/ at line \d+, column \d+|:$|\n/);
      expect(d.line).toBeGreaterThanOrEqual(1);
      expect(d.column).toBeGreaterThanOrEqual(1);
    }
  });

  it('an alias without its anchor, or too many aliases, is YAML_SYNTAX at the alias (the library throws on these)', () => {
    expect(diagnostics('id: x\nname: *nope\n')).toEqual([
      { code: 'YAML_SYNTAX', severity: 'error', message: 'Unresolved alias (the anchor must be set before the alias): nope', line: 2, column: 7 },
    ]);
    const laughs = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 4 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`)].join('\n');
    const [d] = diagnostics(`${laughs}\n`);
    expect(d).toMatchObject({ code: 'YAML_SYNTAX', severity: 'error', message: expect.stringMatching(/alias/i) });
    expect(YamlSource.parse(`${laughs}\n`, 'f.yaml').value).toBeUndefined();
  });
});

describe('YamlSource duplicate keys (found in one pass, not by the library)', () => {
  it('reports a repeated key of any map, block or flow, at the repeat, and gives no value', () => {
    expect(diagnostics('a: 1\nb: {x: 1, y: 2, x: 3}\nc:\n  - {k: 1}\n  - k: 1\n    k: 2\n')).toEqual([
      { code: 'YAML_SYNTAX', severity: 'error', message: 'Map keys must be unique', line: 2, column: 17 },
      { code: 'YAML_SYNTAX', severity: 'error', message: 'Map keys must be unique', line: 6, column: 5 },
    ]);
    expect(YamlSource.parse('a: 1\na: 2\n', 'f.yaml').value).toBeUndefined();
  });

  it('compares keys as YAML reads them: 1 and 1.0 are one number, 1 and "1" differ, as do keys of sibling maps', () => {
    expect(diagnostics('1: a\n1.0: b\n')).toHaveLength(1);
    expect(diagnostics('1: a\n"1": b\nx: {k: 1}\ny: {k: 1}\n')).toEqual([]);
    expect(YamlSource.parse('1: a\n"1": b\n', 'f.yaml').value).toEqual({ 1: 'b' });
  });

  it('finds positions in a map of 20,000 keys (each lookup used to walk the whole map)', () => {
    const keys = Array.from({ length: 20_000 }, (_, i) => `  K${i}: v`);
    const src = YamlSource.parse(`values:\n${keys.join('\n')}\n`, 'f.yaml');
    expect(src.diagnostics).toEqual([]);
    for (const i of [0, 9_999, 19_999]) expect(src.position(['values', `K${i}`], { key: true })).toEqual({ line: i + 2, column: 3 });
    expect(src.position(['values', 'nope'])).toEqual({ line: 2, column: 3 });
  });
});

describe('YamlSource.load: text that is not UTF-8', () => {
  const load = (bytes: Buffer) => {
    const dir = mkdtempSync(join(tmpdir(), 'wb-yaml-'));
    try {
      writeFileSync(join(dir, 'f.yaml'), bytes);
      const src = YamlSource.load(join(dir, 'f.yaml'));
      return { value: src.value, diagnostics: src.diagnostics.map(({ code, message, line, column }) => ({ code, message, line, column })) };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('a Latin-1 byte is YAML_NOT_UTF8 at its line and column, not a replacement character in the value', () => {
    expect(load(Buffer.concat([Buffer.from('id: x\nname: Caf'), Buffer.from([0xe9]), Buffer.from(' Rouge\n')]))).toEqual({
      value: undefined,
      diagnostics: [{ code: 'YAML_NOT_UTF8', line: 2, column: 10, message: 'byte 0xE9 at offset 15 is not UTF-8 (text saved as Latin-1 or Windows-1252?): save it as UTF-8' }],
    });
    // Columns count characters: a valid 'é' before the bad byte is one column.
    expect(load(Buffer.concat([Buffer.from('name: é'), Buffer.from([0xff])])).diagnostics[0]).toMatchObject({ line: 1, column: 8 });
  });

  it('UTF-16, with a byte order mark or without one, is YAML_NOT_UTF8 at 1:1', () => {
    const text = 'id: x\nname: y\n';
    const le = Buffer.from(text, 'utf16le');
    const be = Buffer.from(le).swap16();
    for (const bytes of [Buffer.concat([Buffer.from([0xff, 0xfe]), le]), le, be]) {
      expect(load(bytes).diagnostics).toEqual([{ code: 'YAML_NOT_UTF8', line: 1, column: 1, message: "'f.yaml' is UTF-16 text, where YAML files are read as UTF-8: save it as UTF-8" }]);
    }
  });

  it('UTF-8, with a byte order mark or without one, loads', () => {
    expect(load(Buffer.from('\ufeffname: Café\n'))).toEqual({ value: { name: 'Café' }, diagnostics: [] });
  });
});

describe('YamlSource recursive aliases', () => {
  // Before: the library returned a value that contains itself, and compiling a mapping (inbound or
  // outbound) that used it ran until "Maximum call stack size exceeded": a stack trace, exit 70.
  it('an alias inside the node its own anchor names is YAML_SYNTAX at the alias, and gives no value', () => {
    const text = 'fields:\n  carrierScac: &x { first: [B10.03, *x] }\n';
    expect(diagnostics(text)).toEqual([{
      code: 'YAML_SYNTAX', severity: 'error', line: 2, column: 37,
      message: 'Recursive alias: *x is inside the node its anchor &x names, so the value would contain itself; write the value out instead',
    }]);
    expect(YamlSource.parse(text, 'f.yaml').value).toBeUndefined();
    expect(diagnostics('segments:\n  - &s { each: notes, segments: [*s] }\n')).toMatchObject([{ code: 'YAML_SYNTAX', line: 2, column: 34 }]);
  });

  it('an alias of a finished anchor, even a nested one, is still fine', () => {
    const src = YamlSource.parse('a: &a { x: 1 }\nb: { y: *a, z: [*a] }\n', 'f.yaml');
    expect(src.diagnostics).toEqual([]);
    expect(src.value).toEqual({ a: { x: 1 }, b: { y: { x: 1 }, z: [{ x: 1 }] } });
  });
});

describe('YamlSource: the library sentences meant for programmers are reworded', () => {
  // They were "Source contains multiple documents; please use YAML.parseAllDocuments()" and "Maximum call
  // stack size exceeded".
  it('a second document, and a value nested too deeply, say what to change in the file', () => {
    expect(diagnostics('a: 1\n---\nb: 2\n')).toEqual([{ code: 'YAML_SYNTAX', severity: 'error', line: 2, column: 1,
      message: "A second YAML document starts here ('---'): the file holds one; remove the '---' line, or move what follows to a file of its own" }]);
    const deep = `x: ${'{ first: ['.repeat(500)}B10.01${']}'.repeat(500)}\n`;
    expect(diagnostics(deep)[0]).toMatchObject({ code: 'YAML_SYNTAX', severity: 'error', line: 1,
      message: 'Nested too deeply to be read here (hundreds of levels of { } or [ ]); write the value with fewer levels' });
  });
});

describe('YamlSource line ends', () => {
  // Old Mac line ends (CR alone) made the whole file one line of text to the library: no map at all.
  it('a CR alone ends a line, as CR LF and LF do, and positions are the file\'s own', () => {
    const src = YamlSource.parse('source: x12/214\rtarget: shipment.status@1\rfields:\r  carrierScac: B10.03\r  carrierScac: B10.02\r', 'f.yaml');
    expect(src.diagnostics.map(({ code, message, line, column }) => ({ code, message, line, column }))).toEqual([
      { code: 'YAML_SYNTAX', message: 'Map keys must be unique', line: 5, column: 3 },
    ]);
    const ok = YamlSource.parse('a: 1\rb:\r\n  c: "x"\r', 'f.yaml');
    expect(ok.value).toEqual({ a: 1, b: { c: 'x' } });
    expect(ok.position(['b', 'c'])).toEqual({ line: 3, column: 6 });
  });
});
