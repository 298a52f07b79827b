// JSON written by people (test expectations, render commands): the first problem's line and column and a
// sentence without an excerpt of the text, whatever V8's message gives (often no position at all).
import { describe, expect, it } from 'vitest';
import { jsonPosition, parseJsonText } from '../../src/mappings/json-text.js';

const problem = (text: string) => {
  const r = parseJsonText(text);
  if (r.ok) throw new Error(`parsed: ${text}`);
  return `${r.line}:${r.column} ${r.message}`;
};

describe('parseJsonText', () => {
  it('parses JSON, a UTF-8 byte order mark included', () => {
    expect(parseJsonText('\ufeff{"a": ["00123"]}')).toEqual({ ok: true, value: { a: ['00123'] } });
    expect(parseJsonText('"x"')).toEqual({ ok: true, value: 'x' });
  });

  it('places each kind of mistake where it is, in one line of text', () => {
    expect(problem('hello\nworld\n')).toBe("1:1 unexpected 'hello' (strings need double quotes; true, false and null are lower case)");
    expect(problem('{\n "a": tru }')).toBe("2:7 unexpected 'tru' (strings need double quotes; true, false and null are lower case)");
    expect(problem('{"a": 1,}')).toBe("1:9 a property name in double quotes is expected, found '}' (no comma after the last property)");
    expect(problem('{"a" 1}')).toBe("1:6 ':' is expected after the property name, found '1'");
    // The trailing-comma hint only for a trailing comma: a comma twice is not one (it was told it was).
    expect(problem('{"a": 1,, "b": 2}')).toBe("1:9 a property name in double quotes is expected, found ','");
    expect(problem('[1, 2, ]')).toBe("1:8 a value is expected, found ']' (no comma after the last item)");
    expect(problem('[1, , 2]')).toBe("1:5 a value is expected, found ','");
    expect(problem('[1, 2')).toBe("1:6 ']' is expected, found the end of the text");
    expect(problem('{"a": 1')).toBe("1:8 '}' is expected, found the end of the text");
    expect(problem('{"a": 1} x')).toBe("1:10 nothing may follow the JSON value, found 'x'");
    expect(problem('')).toBe('1:1 a value is expected, found the end of the text');
    expect(problem('// note\n{}')).toBe('1:1 comments are not allowed in JSON');
    expect(problem('{"a": "b\nc"}')).toMatch(/^1:7 a string is not closed on its line/);
    expect(problem('{"a": "\\q"}')).toMatch(/^1:7 '"\\q"' is not a valid escape/);
    // A key twice in one object: JSON.parse keeps the later value without a word.
    expect(problem('{\n  "carrierScac": "ABCD",\n  "stops": [{ "a": 1 }, { "a": 2 }],\n  "carrierScac": "WXYZ"\n}')).toBe(
      '4:3 the key "carrierScac" appears twice in one object (the later value would silently win)');
    expect(problem('{"a": {"b": 1, "b": 2}}')).toBe('1:16 the key "b" appears twice in one object (the later value would silently win)');
    for (const text of ['hello\nworld\n', '[\n {"a":1},\n {"b": tru}\n]', '{"a":\t"b\nc"}']) expect(problem(text)).not.toContain('\n');
  });
});

describe('jsonPosition', () => {
  const text = '\ufeff{\n  "stops": [\n    { "party": { "name": "A" } },\n    { "party": {}, "odd key": 1 }\n  ]\n}\n';
  it('places a path as canonical issues write it: the value, or its key, in the text', () => {
    expect(jsonPosition(text, 'stops[0].party.name')).toEqual({ line: 3, column: 26, exact: true });
    expect(jsonPosition(text, 'stops[1]["odd key"]', { key: true })).toEqual({ line: 4, column: 20, exact: true });
    expect(jsonPosition(text, '(root)')).toEqual({ line: 1, column: 1, exact: true });
  });

  it('a missing key is placed at the nearest value that is there, not exactly', () => {
    expect(jsonPosition(text, 'stops[1].party.name')).toEqual({ line: 4, column: 16, exact: false });
    expect(jsonPosition(text, 'stops[7].x')).toEqual({ line: 2, column: 12, exact: false });
    expect(jsonPosition('[1', 'a')).toMatchObject({ exact: false });
  });
});

describe('parseJsonText on binary data', () => {
  // A binary file given as a command: its bytes went into the message, control characters and all, and so
  // to the terminal.
  it('shows control characters escaped', () => {
    expect(problem('\x7fELF\x02\x01\x01\x00\x00')).toBe("1:1 unexpected '\\u007fELF\\u0002\\u0001\\u0001\\u0000\\u0000' (strings need double quotes; true, false and null are lower case)");
  });
});
