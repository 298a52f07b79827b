// Inbound mappings: a source document (X12 transaction, CSV record, XML document) -> canonical events.
// Compiled once; running a compiled mapping never touches the YAML again.

import { CsvAdapter } from './adapters.js';
import { didYouMean, type Diagnostic } from './diagnostics.js';
import {
  evaluatePlan, SpecCompiler, type CompiledField, type EvalEnv, type SourceAdapter, type SourceLoc, type Value,
} from './spec.js';
import type { CodeTables } from './tables.js';
import type { Position, YamlSource } from './yaml-source.js';
import type { CanonicalTarget } from './canonical-target.js';

// `version` (X12 only) is read by the registry, which compiles the mapping against that version's schema.
const TOP_KEYS = ['description', 'source', 'target', 'version', 'foreach', 'when', 'fields'];

export interface CompiledInbound<C> {
  file: string;
  source: string;
  target: string;
  /**
   * Produces the event bodies (without the gateway's envelope fields) for one source context, in order.
   * The caller adds the envelope and validates the whole event against the canonical schema.
   */
  run(ctx: C, env: EvalEnv): Record<string, Value>[];
  /**
   * Where in the mapping the field at an event path (`status.milestone`, `parties[0].role` as
   * ['parties', 0, 'role']) is given, for an event the canonical schema refuses: the field's spec, or the
   * spec of the field that gives the object or list the path is in. Undefined when no field does (the
   * envelope, a required field the mapping never assigns). Only called for invalid events.
   */
  fieldPosition(path: readonly (string | number)[]): Position | undefined;
  /**
   * Where in the source the value of the field at an event path comes from, for the `index`-th event
   * run(ctx) made: the first of the field's source paths (or of the closest enclosing field's) the source
   * has. Undefined when none is found. Only called for invalid events.
   */
  fieldSource(path: readonly (string | number)[], ctx: C, index: number, env: EvalEnv): SourceLoc | undefined;
  /** CSV: the column names the mapping reads, for a check against each file's header. */
  columns?: readonly string[];
}

export interface InboundCompileInput<C> {
  src: YamlSource;
  adapter: SourceAdapter<C>;
  tables: CodeTables;
  /** Looks up canonical event schemas by `type@version`. */
  canonical: (type: string) => CanonicalTarget | undefined;
  canonicalTypes: string[];
}

export function compileInbound<C>(input: InboundCompileInput<C>): { mapping: CompiledInbound<C> | null; diagnostics: Diagnostic[] } {
  const { src, adapter, tables } = input;
  const diagnostics: Diagnostic[] = [...src.diagnostics];
  const raw = src.value;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    if (!diagnostics.length) diagnostics.push(src.diagnostic('MAP_SPEC_INVALID', 'a mapping file is a YAML map with source, target and fields', []));
    return { mapping: null, diagnostics };
  }
  const m = raw as Record<string, unknown>;
  for (const k of Object.keys(m)) {
    if (!TOP_KEYS.includes(k)) {
      diagnostics.push(src.diagnostic('MAP_UNKNOWN_KEY', `unknown key '${k}' at the top of an inbound mapping; allowed: ${TOP_KEYS.join(', ')}`, [k],
        { key: true, suggestion: didYouMean(k, TOP_KEYS) }));
    }
  }
  const target = typeof m.target === 'string' ? m.target : '';
  const schema = input.canonical(target);
  if (!schema) {
    diagnostics.push(src.diagnostic('MAP_UNKNOWN_TARGET', target ? `unknown canonical event type '${target}'` : "'target' (a canonical event type such as shipment.status@1) is required",
      target ? ['target'] : [], { key: !target, suggestion: target ? didYouMean(target, input.canonicalTypes) : undefined }));
  }
  if (!('fields' in m)) diagnostics.push(src.diagnostic('MAP_SPEC_INVALID', "'fields' is required", [], {}));

  const compiler = new SpecCompiler<C>(src, adapter, tables, {
    closedCodes: adapter.closedCodes ? (path) => adapter.closedCodes!(path) : undefined,
    numericPlaces: adapter.numericPlaces ? (path) => adapter.numericPlaces!(path) : undefined,
    fieldsAtTransaction: m.foreach === undefined,
  });
  let foreach: unknown = null;
  if (m.foreach !== undefined) {
    if (typeof m.foreach !== 'string') diagnostics.push(src.diagnostic('MAP_SPEC_INVALID', "'foreach' is a loop path such as LX/AT7", ['foreach']));
    else {
      const lp = adapter.loopPath(m.foreach);
      if ('error' in lp) diagnostics.push(src.diagnostic(lp.code, lp.error, ['foreach'], { suggestion: lp.suggestion }));
      else {
        foreach = lp.path;
        const note = adapter.loopAtSeveralDepths?.(lp.path);
        if (note) diagnostics.push(src.diagnostic('MAP_LOOP_AT_SEVERAL_DEPTHS', note, ['foreach'], { severity: 'warning' }));
      }
    }
  }
  const when = m.when !== undefined ? compiler.compileCondition(m.when, ['when']) : null;
  const fields = 'fields' in m ? compiler.compileFields(m.fields, ['fields']) : [];
  const plan = compiler.plan(fields);
  diagnostics.push(...compiler.diagnostics);
  if (schema) diagnostics.push(...schema.checkFields(fields, src));

  if (diagnostics.some((d) => d.severity === 'error') || !schema) return { mapping: null, diagnostics };
  // Events list their fields in the schema's order, whatever order the mapping assigns them in.
  schema.orderPlan(plan);

  const file = src.file;
  const positions = fieldPositions(fields, src);
  // Each field's source paths by its event path ('location.city'). Not the fields of list items: their
  // paths read each item's own loop, which the event's context alone does not say (parties[1] would be
  // found at the first N1).
  const sources = new Map<string, unknown[]>();
  for (const f of fields) sources.set(f.target.join('.'), compiler.sourcePathsOf(f));
  const contextsOf = (ctx: C, env: EvalEnv): C[] => {
    const all = foreach === null ? [ctx] : adapter.loops(foreach, ctx);
    return when ? all.filter((c) => when(c, env)) : all;
  };
  const mapping: CompiledInbound<C> = {
    file,
    source: String(m.source ?? adapter.format),
    target,
    run(ctx, env) {
      const contexts = foreach === null ? [ctx] : adapter.loops(foreach, ctx);
      const out: Record<string, Value>[] = [];
      for (let i = 0; i < contexts.length; i++) {
        const c = contexts[i];
        if (when && !when(c, env)) continue;
        out.push(evaluatePlan(plan, c, env) ?? {});
      }
      return out;
    },
    fieldPosition: (path) => positionAt(positions, path),
    fieldSource(path, ctx, index, env) {
      const c = contextsOf(ctx, env)[index];
      if (c === undefined || !adapter.locate) return undefined;
      // A value inside a list (parties[1].role): the mapping line says which field; the source is not told.
      if (path.some((part) => typeof part === 'number')) return undefined;
      // 'location.city', else the closest enclosing field ('location') that has source paths.
      for (let n = path.length; n > 0; n--) {
        for (const p of sources.get(path.slice(0, n).join('.')) ?? []) {
          const at = adapter.locate(p, c);
          if (at) return at;
        }
      }
      return undefined;
    },
    ...(adapter instanceof CsvAdapter && { columns: [...adapter.columns] }),
  };
  return { mapping, diagnostics };
}

/**
 * The mapping's fields as a tree of event paths, with the position of each field's spec: built when the
 * mapping compiles, so the YAML is not kept; read only for an invalid event (positionAt).
 */
interface FieldTree {
  at?: Position;
  fields: Map<string, FieldTree>;
  /** The fields of each item of a list given by `each: ... fields:`. */
  item?: FieldTree;
  /** The fields of each item of an `items:` list, in the order the mapping writes them. */
  items?: FieldTree[];
}

function fieldPositions<C>(fields: CompiledField<C>[], src: YamlSource): FieldTree {
  const root: FieldTree = { fields: new Map() };
  for (const f of fields) {
    let node = root;
    for (const key of f.target) {
      let next = node.fields.get(key);
      if (!next) node.fields.set(key, (next = { fields: new Map() }));
      node = next;
    }
    node.at = src.position(f.yamlPath);
    if (f.itemFields) node.item = fieldPositions(f.itemFields, src);
    if (f.itemSets) node.items = f.itemSets.map((set) => fieldPositions(set.fields, src));
  }
  return root;
}

/**
 * The position of the deepest field on `path`: the field itself, the field that gives the object or list
 * the path is in, or (for an object assigned field by field, e.g. a rule on `location`) its first field.
 * An index into an `items:` list picks that item's fields; an item left out (no value) shifts the ones
 * after it, so that answer can be a neighbour's spec.
 */
function positionAt(tree: FieldTree, path: readonly (string | number)[]): Position | undefined {
  let node = tree;
  let reached: FieldTree | undefined;
  for (const key of path) {
    const next = typeof key === 'number' ? node.item ?? node.items?.[key] : node.fields.get(key);
    if (!next) break;
    node = next;
    reached = next;
  }
  return reached ? reached.at ?? firstPosition(reached) : undefined;
}

function firstPosition(tree: FieldTree): Position | undefined {
  for (const child of tree.fields.values()) {
    const at = child.at ?? firstPosition(child);
    if (at) return at;
  }
  return undefined;
}
