import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { WaybillError } from '../../../src/errors/catalogue.js';
import { firstXmlText, locateXml, parseXml, selectXml, selectXmlText, xmlParserOptions, type XmlChild, type XmlNode } from '../../../src/translators/xml/reader.js';

function failure(fn: () => unknown): { code: string; message: string; details: Record<string, unknown> } {
  try {
    fn();
  } catch (e) {
    if (e instanceof WaybillError) return { code: e.code, message: e.message, details: e.details };
    throw e;
  }
  throw new Error('expected a WaybillError');
}

const INVOICE = `<?xml version="1.0" encoding="UTF-8"?>
<Invoice number="00123" total="12E4">
  <Pro>00123</Pro>
  <Ref>0x1F</Ref>
  <Lines>
    <Line seq="1"><Amount>0012.50</Amount><Code>12E4</Code></Line>
    <Line seq="2"><Amount currency="USD">7.00</Amount><Code/></Line>
  </Lines>
  <Note> keep  spaces </Note>
</Invoice>
`;

describe('XML reader: values', () => {
  it('keeps every value a string: PRO 00123, 0x1F, 12E4', () => {
    const doc = parseXml(INVOICE);
    const inv = doc.Invoice as XmlNode;
    expect(inv.Pro).toBe('00123');
    expect(inv.Ref).toBe('0x1F');
    expect(inv['@_number']).toBe('00123');
    expect(inv['@_total']).toBe('12E4');
    expect(selectXml(doc, 'Invoice/Lines/Line/Code')).toEqual(['12E4', '']);
    expect(selectXml(doc, 'Invoice/Lines/Line/Amount/#text')).toEqual(['0012.50', '7.00']);
    const walk = (v: unknown): void => {
      if (typeof v === 'object' && v !== null) Object.values(v).forEach(walk);
      else expect(typeof v).toBe('string');
    };
    walk(doc);
  });

  it('builds the documented tree: attributes with @_, repeated elements as arrays, text as #text', () => {
    const doc = parseXml(INVOICE);
    expect(doc).toEqual({
      Invoice: {
        '@_number': '00123',
        '@_total': '12E4',
        Pro: '00123',
        Ref: '0x1F',
        Lines: {
          Line: [
            { '@_seq': '1', Amount: '0012.50', Code: '12E4' },
            { '@_seq': '2', Amount: { '@_currency': 'USD', '#text': '7.00' }, Code: '' },
          ],
        },
        Note: ' keep  spaces ',
      },
    });
    expect(Object.getPrototypeOf(doc)).toBeNull();
    expect(Object.getPrototypeOf(doc.Invoice)).toBeNull();
  });

  it('a single element is not an array; selectXml treats one and many alike', () => {
    const doc = parseXml('<Invoice><Lines><Line><Amount>1</Amount></Line></Lines></Invoice>');
    expect(Array.isArray((doc.Invoice as XmlNode).Lines)).toBe(false);
    expect(selectXml(doc, 'Invoice/Lines/Line')).toEqual([{ Amount: '1' }]);
    expect(selectXmlText(doc, 'Invoice/Lines/Line/Amount')).toBe('1');
  });

  it('decodes the XML entities and character references once, and takes CDATA literally', () => {
    const doc = parseXml('<a t="&lt;&amp;&quot;&#65;&amp;#66;">&lt;b&gt; &amp; &apos;&#x263A;&#128512;&amp;lt;<![CDATA[<&amp;>]]></a>');
    expect(doc).toEqual({ a: { '@_t': '<&"A&#66;', '#text': "<b> & '☺😀&lt;<&amp;>" } });
  });

  it('drops whitespace between elements, keeps text of leaf elements exactly, normalises CRLF', () => {
    const doc = parseXml('<a>\r\n  <b>  x\r\ny  </b>\r\n  <c>   </c>\r\n</a>');
    expect(doc).toEqual({ a: { b: '  x\ny  ', c: '   ' } });
  });

  it('joins an element\'s text pieces in order, dropping whitespace-only ones outside CDATA when it has child elements', () => {
    const cases: [string, unknown][] = [
      ['<a> <b/> </a>', { a: { b: '' } }],
      ['<a>x<b/>  y<![CDATA[  ]]></a>', { a: { b: '', '#text': 'x  y  ' } }],
      ['<a> <![CDATA[ ]]> <b/>\n</a>', { a: { b: '', '#text': ' ' } }],
      ['<a> <!-- c --> <?pi x?> </a>', { a: '   ' }],
      ['<a>x<!-- c --> <b/> <!-- d -->y</a>', { a: { b: '', '#text': 'x  y' } }],
      ['<a k="1"> </a>', { a: { '@_k': '1', '#text': ' ' } }],
      ['<a k="1"/>', { a: { '@_k': '1' } }],
      ['<a><![CDATA[]]></a>', { a: '' }],
      ['<a>1<b>2</b>3<b>4</b>5<c/></a>', { a: { b: ['2', '4'], c: '', '#text': '135' } }],
    ];
    for (const [xml, tree] of cases) expect(JSON.parse(JSON.stringify(parseXml(xml))), xml).toEqual(tree);
  });

  it('reads namespace prefixes as written', () => {
    const doc = parseXml('<ns:Invoice xmlns:ns="urn:x"><ns:Line ns:seq="1">a</ns:Line></ns:Invoice>');
    expect(selectXml(doc, 'ns:Invoice/ns:Line/@ns:seq')).toEqual(['1']);
    expect(selectXml(doc, 'ns:Invoice/@xmlns:ns')).toEqual(['urn:x']);
  });
});

describe('XML reader: names that are JavaScript prototype properties', () => {
  it('reads constructor, __proto__, prototype, toString as plain names, without throwing or polluting', () => {
    const before = Object.getOwnPropertyNames(Object.prototype).sort();
    const xml =
      '<constructor constructor="c" __proto__="p"><__proto__><polluted>yes</polluted></__proto__>' +
      '<prototype>pt</prototype><toString>ts</toString><hasOwnProperty a="1"/><constructor>inner</constructor></constructor>';
    const doc = parseXml(xml);
    expect(Object.keys(doc)).toEqual(['constructor']);
    const root = doc['constructor' as string] as XmlNode;
    expect(Object.getPrototypeOf(root)).toBeNull();
    expect(root['@_constructor']).toBe('c');
    expect(root['@___proto__']).toBe('p');
    expect(Object.prototype.hasOwnProperty.call(root, '__proto__')).toBe(true);
    expect(root['__proto__']).toEqual({ polluted: 'yes' });
    expect(root.prototype).toBe('pt');
    expect(root.toString).toBe('ts');
    expect(root.hasOwnProperty).toEqual({ '@_a': '1' });
    expect(root.constructor).toBe('inner');
    expect(selectXml(doc, 'constructor/__proto__/polluted')).toEqual(['yes']);
    expect(selectXml(doc, 'constructor/@constructor')).toEqual(['c']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
  });

  it('selectXml never finds inherited properties', () => {
    expect(selectXml({ a: 'x' }, 'toString')).toEqual([]);
    expect(selectXml({ a: 'x' }, '__proto__')).toEqual([]);
    expect(selectXml(parseXml('<a><b/></a>'), 'a/constructor')).toEqual([]);
  });
});

describe('XML reader: refusals', () => {
  it('refuses a DOCTYPE before parsing, with line and column', () => {
    const f = failure(() => parseXml('<?xml version="1.0"?>\n<!DOCTYPE Invoice SYSTEM "invoice.dtd">\n<Invoice/>'));
    expect(f.code).toBe('XML_DOCTYPE_FORBIDDEN');
    expect(f.details).toMatchObject({ line: 2, column: 1 });
    expect(failure(() => parseXml('<!doctype html><html/>')).code).toBe('XML_DOCTYPE_FORBIDDEN');
    expect(failure(() => parseXml('<a/><!ENTITY x "y">')).code).toBe('XML_DOCTYPE_FORBIDDEN');
  });

  it('does not mistake DOCTYPE text inside comments, CDATA or processing instructions', () => {
    const doc = parseXml('<!-- <!DOCTYPE x> --><a><?pi <!DOCTYPE y>?><![CDATA[<!DOCTYPE z &nbsp;]]></a>');
    expect(doc).toEqual({ a: '<!DOCTYPE z &nbsp;' });
  });

  it('refuses billion laughs and external entities (DOCTYPE gate)', () => {
    const lol =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
      Array.from({ length: 8 }, (_, i) => `<!ENTITY lol${i + 2} "${`&lol${i === 0 ? '' : i + 1};`.repeat(10)}">`).join('') +
      ']><lolz>&lol9;</lolz>';
    expect(failure(() => parseXml(lol)).code).toBe('XML_DOCTYPE_FORBIDDEN');
    const xxe = '<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><foo>&xxe;</foo>';
    expect(failure(() => parseXml(xxe)).code).toBe('XML_DOCTYPE_FORBIDDEN');
  });

  it('bounds entity expansion in the parser options too (defence in depth, DOCTYPE gate bypassed)', () => {
    const flat = `<!DOCTYPE l [<!ENTITY a "${'x'.repeat(1000)}">]><l>${'&a;'.repeat(5000)}</l>`;
    expect(() => new XMLParser(xmlParserOptions()).parse(flat)).toThrow(/limit/i);
    const big = `<!DOCTYPE l [<!ENTITY a "${'x'.repeat(5000)}">]><l>&a;</l>`;
    expect(() => new XMLParser(xmlParserOptions()).parse(big)).toThrow();
    const nested =
      '<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">' +
      Array.from({ length: 8 }, (_, i) => `<!ENTITY e${i} "${(i === 0 ? '&a;' : `&e${i - 1};`).repeat(10)}">`).join('') +
      ']><l>&e7;</l>';
    let size = 0;
    try {
      size = JSON.stringify(new XMLParser(xmlParserOptions()).parse(nested)).length;
    } catch {
      size = 0; // refused: also fine
    }
    expect(size).toBeLessThan(100_000);
  });

  it('takes any number of the five XML entities and character references (the limits are for declared entities)', () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `<L n="A&amp;B">Smith &amp; Sons &lt;${i}&gt; caf&#233; &#x2713;</L>`).join('\n');
    const doc = parseXml(`<R>\n${lines}\n</R>`) as { R: { L: { '@_n': string; '#text': string }[] } };
    expect(doc.R.L).toHaveLength(5000);
    expect(doc.R.L[4999]).toEqual({ '@_n': 'A&B', '#text': 'Smith & Sons <4999> caf\u00e9 \u2713' });
  });

  it('refuses entities XML does not define', () => {
    const f = failure(() => parseXml('<a>\n  caf&eacute; &nbsp;</a>'));
    expect(f.code).toBe('XML_MALFORMED');
    expect(f.details).toMatchObject({ line: 2, column: 6 });
    expect(f.message).toContain('&eacute;');
    expect(failure(() => parseXml('<a>&#0;</a>')).code).toBe('XML_MALFORMED');
    expect(failure(() => parseXml('<a>a & b</a>')).code).toBe('XML_MALFORMED');
  });

  it('refuses a document over the size cap (default 20 MiB)', () => {
    expect(failure(() => parseXml('<a>' + 'x'.repeat(200) + '</a>', { maxBytes: 100 }))).toMatchObject({
      code: 'XML_TOO_LARGE',
      details: { size: 207, maxBytes: 100 },
    });
    const big = Buffer.alloc(20 * 1024 * 1024 + 1, 0x20);
    expect(failure(() => parseXml(big)).code).toBe('XML_TOO_LARGE');
  });

  it('reports malformed XML with the validator line and column', () => {
    const f = failure(() => parseXml('<Invoice>\n  <Line>\n</Invoice>'));
    expect(f.code).toBe('XML_MALFORMED');
    expect(f.details).toMatchObject({ line: 3, column: 1 });
    expect(f.message).toMatch(/Line/);
    expect(failure(() => parseXml('<a x="1" x="2"/>')).details).toMatchObject({ line: 1, column: 10 });
    expect(failure(() => parseXml('')).code).toBe('XML_MALFORMED');
    expect(failure(() => parseXml('just text')).code).toBe('XML_MALFORMED');
  });

  it('a document cut short names the elements left open, where it ends (the validator said "Invalid \'[...]\' found" at 1:1)', () => {
    const f = failure(() => parseXml('<Invoice>\n  <Parties>\n    <Party type="SHIPPER">\n      <Name>ACME</Name>\n'));
    expect(f.code).toBe('XML_MALFORMED');
    expect(f.message).toBe('the document ends before <Invoice>, <Parties>, <Party> are closed (is it cut short?)');
    expect(f.details).toMatchObject({ line: 4, column: 24 });
  });

  it('refuses two root elements, pointing at the second', () => {
    const f = failure(() => parseXml('<a/>\n  <b/>'));
    expect(f).toMatchObject({ code: 'XML_MALFORMED', details: { line: 2, column: 3 } });
  });

  it('refuses characters XML 1.0 forbids', () => {
    expect(failure(() => parseXml('<a>\n x\u0001</a>'))).toMatchObject({ code: 'XML_MALFORMED', details: { line: 2, column: 3 } });
  });

  it('passes over a Ctrl-Z (SUB) end-of-file mark after the root element, but not one inside it', () => {
    for (const tail of ['\u001a', '\r\n\u001a', '\u001a\r\n', '\n\u001a\u001a ']) {
      expect(parseXml(`<a><b>1</b></a>${tail}`), JSON.stringify(tail)).toEqual(parseXml('<a><b>1</b></a>'));
      expect(parseXml(Buffer.from(`<a><b>1</b></a>${tail}`, 'utf8'))).toEqual(parseXml('<a><b>1</b></a>'));
    }
    expect(failure(() => parseXml('<a><b>1\u001a</b></a>\u001a'))).toMatchObject({ code: 'XML_MALFORMED' });
  });

  it('refuses nesting deeper than maxDepth', () => {
    const deep = '<a>'.repeat(10) + '</a>'.repeat(10);
    expect(parseXml(deep, { maxDepth: 20 })).toBeTruthy();
    expect(failure(() => parseXml(deep, { maxDepth: 5 })).code).toBe('XML_TOO_DEEP');
  });
});

describe('XML reader: encodings', () => {
  it('reads UTF-8 with a BOM, UTF-16 with a BOM and a declared ISO-8859-1', () => {
    expect(parseXml(Buffer.from('\ufeff<a>Zoë</a>', 'utf8'))).toEqual({ a: 'Zoë' });
    expect(parseXml(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('<?xml version="1.0" encoding="UTF-16"?><a>Zoë</a>', 'utf16le')]))).toEqual({ a: 'Zoë' });
    expect(parseXml(Buffer.from('<?xml version="1.0" encoding="ISO-8859-1"?><a>Montr\xe9al</a>', 'latin1'))).toEqual({ a: 'Montréal' });
  });

  it('refuses invalid UTF-8 with its position, and unknown encodings', () => {
    const bytes = Buffer.concat([Buffer.from('<a>\n  ok'), Buffer.from([0xe9]), Buffer.from('</a>')]);
    expect(failure(() => parseXml(bytes))).toMatchObject({ code: 'XML_INVALID_ENCODING', details: { line: 2, column: 5, offset: 8 } });
    expect(failure(() => parseXml(Buffer.from('<?xml version="1.0" encoding="EBCDIC-CP-US"?><a/>'))).code).toBe('XML_ENCODING_UNSUPPORTED');
  });
});

describe('selectXml', () => {
  const doc = parseXml(INVOICE);

  it('selects elements, attributes and text; never numbers', () => {
    expect(selectXml(doc, 'Invoice/Lines/Line')).toHaveLength(2);
    expect(selectXml(doc, 'Invoice/Lines/Line/@seq')).toEqual(['1', '2']);
    expect(selectXml(doc, 'Invoice/@number')).toEqual(['00123']);
    expect(selectXml(doc, '/Invoice/Pro')).toEqual(['00123']);
    expect(selectXml(doc, 'Invoice/Pro/#text')).toEqual(['00123']);
    expect(selectXml(doc, 'Invoice/Lines/#text')).toEqual(['']);
    expect(selectXml(doc, 'Invoice/Lines/Line/Amount/@currency')).toEqual(['USD']);
    expect(selectXml(doc, 'Invoice/Missing')).toEqual([]);
    expect(selectXml(doc, 'Invoice/Pro/@x')).toEqual([]);
  });

  it('supports [n] (1-based, per parent) and *', () => {
    expect(selectXml(doc, 'Invoice/Lines/Line[2]/@seq')).toEqual(['2']);
    expect(selectXml(doc, 'Invoice/Lines/Line[3]')).toEqual([]);
    expect(selectXml(doc, 'Invoice/Lines/Line[1]/*')).toEqual(['0012.50', '12E4']);
    expect(selectXml(doc, 'Invoice/*')).toEqual(['00123', '0x1F', (doc.Invoice as XmlNode).Lines, ' keep  spaces ']);
  });

  it('works relative to a node', () => {
    const [line2] = selectXml(doc, 'Invoice/Lines/Line[2]');
    expect(selectXml(line2, 'Amount/#text')).toEqual(['7.00']);
    expect(selectXmlText(line2, 'Amount')).toBe('7.00');
    expect(selectXmlText(line2, 'Nothing')).toBeUndefined();
    const lines = selectXml(doc, 'Invoice/Lines/Line');
    expect(selectXml(lines, 'Amount/#text')).toEqual(['0012.50', '7.00']);
  });

  it('refuses bad paths with XML_PATH_INVALID', () => {
    for (const p of ['', '/', 'a//b', 'a/@x/b', 'a/#text/b', 'a[0]', 'a[x]', '*[1]', 'a b', '@', 'a/@']) {
      expect(failure(() => selectXml(doc, p)).code, p).toBe('XML_PATH_INVALID');
    }
  });
});

describe('firstXmlText: the first non-empty text of a path, as a mapping reads a value', () => {
  const xml = `<Invoice number="7" empty="">
  <Line seq="1"><Amount/><Code>A</Code></Line>
  <Line seq=""><Amount currency="USD">2.50</Amount><Code>B</Code><Code>C</Code></Line>
  <Line><Amount currency="">3.00</Amount></Line>
  <Note><Sub>x</Sub>tail</Note>
  <constructor>c</constructor>
</Invoice>`;
  const doc = parseXml(xml);
  /** What the mapping adapter computed before: every match of selectXml, then the first with a non-empty text. */
  const viaSelect = (context: XmlChild, path: string): string | undefined => {
    for (const n of selectXml(context, path)) {
      const text = typeof n === 'string' ? n : typeof n['#text'] === 'string' ? (n['#text'] as string) : '';
      if (text !== '') return text;
    }
    return undefined;
  };
  const paths = [
    'Invoice', 'Invoice/@number', 'Invoice/@empty', 'Invoice/@none', 'Invoice/Line', 'Invoice/Line/@seq', 'Invoice/Line/Amount',
    'Invoice/Line/Amount/@currency', 'Invoice/Line/Amount/#text', 'Invoice/Line/Code', 'Invoice/Line[2]/Code', 'Invoice/Line[2]/Code[2]',
    'Invoice/Line[1]/Code[2]', 'Invoice/Line[4]/Code', 'Invoice/Line/*', 'Invoice/*', 'Invoice/*/Code', 'Invoice/Note', 'Invoice/Note/#text',
    'Invoice/Note/Sub', 'Invoice/Note/*', 'Invoice/constructor', 'Invoice/toString', 'Invoice/__proto__', '/Invoice/@number', 'Invoice/Line/Amount[1]',
    'Invoice/Line/Amount[2]', 'Invoice/*/*/@currency',
  ];

  it('gives what the first non-empty text among selectXml\'s matches is, from the document, a node and a text-only element', () => {
    for (const path of paths) expect(firstXmlText(doc, path), path).toBe(viaSelect(doc, path));
    const lines = selectXml(doc, 'Invoice/Line');
    for (const line of lines) {
      for (const path of ['@seq', 'Amount', 'Amount/@currency', 'Code', 'Code[2]', '*', '#text', 'Missing']) expect(firstXmlText(line, path), path).toBe(viaSelect(line, path));
    }
    expect(firstXmlText('text', '#text')).toBe('text');
    expect(firstXmlText('text', 'Child')).toBeUndefined();
    expect(firstXmlText({ A: { B: ['', 'x'] } } as XmlNode, 'A/B')).toBe('x');
    expect(failure(() => firstXmlText(doc, 'a//b')).code).toBe('XML_PATH_INVALID');
  });
});

describe('locateXml: where matches are in the document', () => {
  const DOC = [
    '<?xml version="1.0"?>',
    '<Invoice number="7">',
    '  <Line>1.00</Line><Line>2.50</Line>',
    '  <Party type="SH"><Name>ACME</Name></Party>',
    '</Invoice>',
  ];
  const where = (r: { at?: { line: number; column: number } }[]) => r.map((m) => (m.at ? [m.at.line, m.at.column] : null));

  it('gives each element its start tag, an attribute or text its element, in LF, CR LF and CR files', () => {
    for (const eol of ['\n', '\r\n', '\r']) {
      const doc = parseXml(DOC.join(eol));
      expect(where(locateXml(doc, 'Invoice'))).toEqual([[2, 1]]);
      expect(where(locateXml(doc, 'Invoice/Line'))).toEqual([[3, 3], [3, 20]]);
      expect(where(locateXml(doc, 'Invoice/Line[2]'))).toEqual([[3, 20]]);
      expect(where(locateXml(doc, 'Invoice/*'))).toEqual([[3, 3], [3, 20], [4, 3]]);
      expect(where(locateXml(doc, 'Invoice/Party/Name/#text'))).toEqual([[4, 20]]);
      expect(where(locateXml(doc, 'Invoice/Party/@type'))).toEqual([[4, 3]]);
      expect(locateXml(doc, 'Invoice/Nothing')).toEqual([]);
      // From a node, with the node's own position given (as a foreach context has it).
      const party = locateXml(doc, 'Invoice/Party')[0];
      expect(where(locateXml(party.value, '@type', party.at))).toEqual([[4, 3]]);
      expect(where(locateXml(party.value, 'Name'))).toEqual([[4, 20]]);
    }
  });

  it('matches what selectXml selects, and leaves the tree and its JSON as they were', () => {
    const doc = parseXml(DOC.join('\n'));
    for (const path of ['Invoice', 'Invoice/Line', 'Invoice/*', 'Invoice/@number', 'Invoice/Party/Name/#text']) {
      expect(locateXml(doc, path).map((m) => m.value)).toEqual(selectXml(doc, path));
    }
    expect(Object.keys(doc.Invoice as XmlNode)).toEqual(['@_number', 'Line', 'Party']);
    expect(JSON.parse(JSON.stringify(doc))).toEqual({ Invoice: { '@_number': '7', Line: ['1.00', '2.50'], Party: { '@_type': 'SH', Name: 'ACME' } } });
  });

  it('knows no positions in a tree it did not parse', () => {
    expect(locateXml({ A: { B: 'x' } } as XmlNode, 'A/B')).toEqual([{ value: 'x', at: undefined }]);
  });
});

describe('paths over many repeated elements', () => {
  it('select and locate 200,000 siblings (a spread of them overflowed the stack at about 130,000)', () => {
    const n = 200_000;
    const charge = '<Charge code="FRT"><Amount>1.00</Amount></Charge>';
    const doc = parseXml(`<Invoice>${charge.repeat(n)}</Invoice>`);
    expect(selectXml(doc, 'Invoice/Charge')).toHaveLength(n);
    const located = locateXml(doc, 'Invoice/Charge/Amount');
    expect(located).toHaveLength(n);
    expect(located[n - 1]).toMatchObject({ value: '1.00' });
    // The last charge's <Amount>: after <Invoice>, the charges before it and its own start tag.
    const offset = '<Invoice>'.length + (n - 1) * charge.length + charge.indexOf('<Amount>');
    expect(located[n - 1].at).toEqual({ line: 1, column: offset + 1, offset });
    expect(locateXml(doc, 'Invoice/Charge[1]')[0].at).toEqual({ line: 1, column: 10, offset: 9 });
  });
});
