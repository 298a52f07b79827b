import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WaybillError } from '../../../src/errors/catalogue.js';
import { parseXml, type XmlNode } from '../../../src/translators/xml/reader.js';
import { buildXml, type XmlWriteTree } from '../../../src/translators/xml/writer.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'no error';
  } catch (e) {
    return e instanceof WaybillError ? e.code : String(e);
  }
}

const TREE: XmlWriteTree = {
  Invoice: {
    '@_number': '00123',
    Pro: '00123',
    Lines: { Line: [{ '@_seq': '1', Amount: '12.50' }, { '@_seq': '2', Amount: { '@_currency': 'USD', '#text': '7.00' } }] },
    Empty: '',
  },
};

describe('XML writer', () => {
  it('writes a pretty document with a declaration, deterministically', () => {
    const xml = buildXml(TREE);
    expect(xml).toBe(
      [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<Invoice number="00123">',
        '  <Pro>00123</Pro>',
        '  <Lines>',
        '    <Line seq="1">',
        '      <Amount>12.50</Amount>',
        '    </Line>',
        '    <Line seq="2">',
        '      <Amount currency="USD">7.00</Amount>',
        '    </Line>',
        '  </Lines>',
        '  <Empty></Empty>',
        '</Invoice>',
        '',
      ].join('\n'),
    );
    expect(buildXml(TREE)).toBe(xml);
  });

  it('writes compact output, with or without a declaration', () => {
    expect(buildXml({ a: { '@_x': '1', b: 'c' } }, { pretty: false })).toBe('<?xml version="1.0" encoding="UTF-8"?><a x="1"><b>c</b></a>');
    expect(buildXml({ a: 'b' }, { pretty: false, declaration: false })).toBe('<a>b</a>');
  });

  it('escapes & < > " \' in text and attributes', () => {
    const xml = buildXml({ a: { '@_q': `Tom & "Jerry" <'x'>`, b: `1 < 2 && "3" > '0'` } }, { pretty: false, declaration: false });
    expect(xml).toBe('<a q="Tom &amp; &quot;Jerry&quot; &lt;&apos;x&apos;&gt;"><b>1 &lt; 2 &amp;&amp; &quot;3&quot; &gt; &apos;0&apos;</b></a>');
    expect(parseXml(xml)).toEqual({ a: { '@_q': `Tom & "Jerry" <'x'>`, b: `1 < 2 && "3" > '0'` } });
  });

  it('refuses values that are not strings', () => {
    for (const bad of [12.5, 0, true, null, new Date(0), [['nested']]]) {
      expect(codeOf(() => buildXml({ a: { b: bad as unknown as string } }))).toBe('XML_WRITE_INVALID_VALUE');
    }
    expect(codeOf(() => buildXml({ a: { '@_n': 5 as unknown as string } }))).toBe('XML_WRITE_INVALID_VALUE');
    expect(codeOf(() => buildXml({ a: { b: 'bell\u0007' } }))).toBe('XML_WRITE_INVALID_VALUE');
    try {
      buildXml({ a: { b: [{ c: 'x' }, { c: 1 as unknown as string }] } });
    } catch (e) {
      expect((e as WaybillError).details).toEqual({ path: '/a/b[2]/c' });
    }
  });

  it('refuses bad names and anything but one root element', () => {
    expect(codeOf(() => buildXml({ a: { 'bad name': 'x' } }))).toBe('XML_WRITE_INVALID_NAME');
    expect(codeOf(() => buildXml({ a: { '1st': 'x' } }))).toBe('XML_WRITE_INVALID_NAME');
    expect(codeOf(() => buildXml({ a: { '@_x y': 'x' } }))).toBe('XML_WRITE_INVALID_NAME');
    expect(codeOf(() => buildXml({ a: 'x', b: 'y' }))).toBe('XML_WRITE_INVALID_VALUE');
    expect(codeOf(() => buildXml({}))).toBe('XML_WRITE_INVALID_VALUE');
    expect(codeOf(() => buildXml({ a: ['x', 'y'] }))).toBe('XML_WRITE_INVALID_VALUE');
  });

  it('leaves out undefined values', () => {
    expect(buildXml({ a: { b: undefined, c: 'x', '@_d': undefined } }, { pretty: false, declaration: false })).toBe('<a><c>x</c></a>');
  });

  it('writes prototype-property names as plain elements', () => {
    const tree = Object.create(null) as XmlNode;
    const inner = Object.create(null) as XmlNode;
    inner['__proto__'] = 'p';
    inner['toString' as string] = 't';
    tree['constructor' as string] = inner;
    const xml = buildXml(tree, { pretty: false, declaration: false });
    expect(xml).toBe('<constructor><__proto__>p</__proto__><toString>t</toString></constructor>');
    expect(parseXml(xml)).toEqual(tree);
  });
});

describe('XML round trip', () => {
  it('writer -> reader gives the tree back (pretty and compact)', () => {
    const tree: XmlWriteTree = {
      Shipment: {
        '@_id': '00042',
        '@_note': 'tab\there, line\nbreak, cr\r, "q" & \'a\'',
        Pro: '00123',
        Hex: '0x1F',
        Exp: '12E4',
        Spaced: '  padded  ',
        Multi: 'line 1\r\nline 2\n',
        Stops: { Stop: [{ '@_seq': '1', City: 'Montréal' }, { '@_seq': '2', City: 'Zürich', Ref: ['A', 'B'] }] },
        Empty: '',
        Attr: { '@_only': 'yes' },
        Mixed: { '@_k': 'v', '#text': 'text & more' },
      },
    };
    for (const pretty of [true, false]) {
      expect(parseXml(buildXml(tree, { pretty }))).toEqual(tree);
    }
  });

  it('reader -> writer -> reader is stable', () => {
    const source = '<?xml version="1.0"?><Invoice number="00123"><Line n="1"><Amount>0012.50</Amount></Line><Line n="2"><Amount>7</Amount></Line><Note>a &amp; b</Note></Invoice>';
    const doc = parseXml(source);
    const written = buildXml(doc);
    expect(parseXml(written)).toEqual(doc);
    expect(buildXml(parseXml(written))).toBe(written);
  });

  it('round-trips any strings in text and attributes', () => {
    const text = fc.string({ unit: fc.constantFrom('a', ' ', '&', '<', '>', '"', "'", '\n', '\r', '\t', 'é', '😀', ']]>', '&amp;') });
    fc.assert(
      fc.property(text, text, fc.boolean(), (t, a, pretty) => {
        const tree = { R: { '@_a': a, V: t, W: { '@_b': a, '#text': 'x' + t + 'x' } } };
        expect(parseXml(buildXml(tree, { pretty }))).toEqual(tree);
      }),
      { numRuns: 300 },
    );
  });
});
