// Source adapters for the three inbound formats, and the choice of one for a partner's document kind.

import { csvField, type CsvRecord } from '../translators/csv/reader.js';
import { firstXmlText, locateXml, selectXml, type XmlChild, type XmlPosition } from '../translators/xml/reader.js';
import { getSchema, resolveSchemaVersion } from '../translators/x12/schema.js';
import type { SourceAdapter, SourceLoc } from './spec.js';
import { schemaView, X12Adapter } from './x12-adapter.js';

// ---- CSV: one record is one context; paths are column names or #N positions ----------------------

export interface CsvContext {
  record: CsvRecord;
}

export class CsvAdapter implements SourceAdapter<CsvContext> {
  readonly format = 'csv' as const;
  /** The column names the mapping reads (not #N positions): checked against each file's header. */
  readonly columns = new Set<string>();

  valuePath(text: string) {
    if (/^#\d+$/.test(text)) {
      const n = Number(text.slice(1));
      return n >= 1 ? { path: n } : { code: 'MAP_BAD_PATH', error: 'CSV columns are numbered from #1' };
    }
    if (text.trim() === '') return { code: 'MAP_BAD_PATH', error: 'an empty CSV column name' };
    this.columns.add(text);
    return { path: text };
  }

  loopPath(text: string) {
    return { code: 'MAP_NOT_A_LOOP', error: `CSV records have no loops ('${text}'): each record is one context` };
  }

  first(path: unknown, ctx: CsvContext): string | undefined {
    return this.values(path, ctx)[0]?.value;
  }

  values(path: unknown, ctx: CsvContext): { value: string; loc?: SourceLoc }[] {
    const v = csvField(ctx.record, path as string | number);
    return v === undefined || v === '' ? [] : [{ value: v, loc: this.loc(ctx) }];
  }

  loops(): CsvContext[] {
    return [];
  }

  /** Where a value path points: its record's line, and the column by name or number (failures name it). */
  locate(path: unknown, ctx: CsvContext): SourceLoc {
    return { line: ctx.record.line, column: 1, what: typeof path === 'number' ? `column #${path}` : `column '${String(path)}'` };
  }

  loc(ctx: CsvContext): SourceLoc {
    return { line: ctx.record.line, column: 1, what: `record ${ctx.record.index}` };
  }
}

// ---- XML: a node is a context; paths are selectXml paths (a leading / starts at the document) ------

export interface XmlContext {
  node: XmlChild;
  root: XmlChild;
  /** Where the node is, e.g. "/Shipments/Shipment[2]". */
  path: string;
  /** Where the node's element starts in the document (undefined for the document itself). */
  at?: XmlPosition;
}

export class XmlAdapter implements SourceAdapter<XmlContext> {
  readonly format = 'xml' as const;

  private parse(text: string) {
    try {
      selectXml({}, text.startsWith('/') ? text.slice(1) : text);
      return { path: text };
    } catch (err) {
      return { code: 'MAP_BAD_PATH', error: `bad XML path '${text}': ${(err as Error).message}` };
    }
  }

  valuePath(text: string) {
    return this.parse(text);
  }

  loopPath(text: string) {
    return this.parse(text);
  }

  private select(path: string, ctx: XmlContext): XmlChild[] {
    return path.startsWith('/') ? selectXml(ctx.root, path.slice(1)) : selectXml(ctx.node, path);
  }

  first(path: unknown, ctx: XmlContext): string | undefined {
    const p = path as string;
    return p.startsWith('/') ? firstXmlText(ctx.root, p.slice(1)) : firstXmlText(ctx.node, p);
  }

  values(path: unknown, ctx: XmlContext, all: boolean): { value: string; loc?: SourceLoc }[] {
    const out: { value: string; loc?: SourceLoc }[] = [];
    for (const n of this.select(path as string, ctx)) {
      const text = typeof n === 'string' ? n : typeof n['#text'] === 'string' ? (n['#text'] as string) : '';
      if (text === '') continue;
      out.push({ value: text });
      if (!all) break;
    }
    return out;
  }

  /** selectXml's matches of a path from a context, with where each starts in the document. */
  private located(path: string, ctx: XmlContext) {
    return path.startsWith('/') ? locateXml(ctx.root, path.slice(1)) : locateXml(ctx.node, path, ctx.at);
  }

  loops(path: unknown, ctx: XmlContext): XmlContext[] {
    const p = path as string;
    const prefix = `${p.startsWith('/') ? '' : ctx.path}/${p.replace(/^\//, '')}[`;
    return this.located(p, ctx).map(({ value: node, at }, i) => ({ node, root: ctx.root, path: `${prefix}${i + 1}]`, at }));
  }

  /**
   * Where a value path points: the start tag of the element it reads (of the element holding the
   * attribute or text). When nothing matches (a required value missing), the nearest element the path
   * gets to (`Invoice` for a missing `Invoice/Terms`), else the context's element. `what` is the path
   * from the document (`/Invoice/Terms`). Only failures ask, so these walks cost nothing on the way to an
   * event.
   */
  locate(path: unknown, ctx: XmlContext): SourceLoc {
    const p = path as string;
    let at: XmlPosition | undefined;
    const steps = p.split('/');
    for (let n = steps.length; n > 0 && at === undefined; n--) {
      const prefix = steps.slice(0, n).join('/');
      if (prefix !== '' && prefix !== '/') at = this.located(prefix, ctx)[0]?.at;
    }
    at ??= ctx.at;
    return { line: at?.line ?? 1, column: at?.column ?? 1, what: p.startsWith('/') ? p : `${ctx.path}/${p}` };
  }

  loc(ctx: XmlContext): SourceLoc {
    return { line: ctx.at?.line ?? 1, column: ctx.at?.column ?? 1, what: ctx.path || '/' };
  }
}

/** The adapter for a partner's inbound document kind (`x12/214`, `csv`, `xml`), compiled against `version`. */
export function adapterForDocument(document: string, version?: string): SourceAdapter<unknown> {
  if (document === 'csv') return new CsvAdapter() as SourceAdapter<unknown>;
  if (document === 'xml') return new XmlAdapter() as SourceAdapter<unknown>;
  const setId = document.replace(/^x12\//, '');
  const schemaVersion = resolveSchemaVersion(version ?? '004010');
  const schema = schemaVersion ? getSchema(setId, schemaVersion) : null;
  return new X12Adapter(setId, schema ? schemaView(schema) : null) as SourceAdapter<unknown>;
}
