// YamlSource's own diagnostics (YAML_SYNTAX, YAML_WARNING): the parser's sentence, placed at the
// parser's position. The `yaml` library's pretty form ends each message with " at line L, column C:"
// and a code excerpt, which a one-line diagnostic with its own file:line:col must not repeat.
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
