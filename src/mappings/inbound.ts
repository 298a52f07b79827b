// Inbound mappings: a source document (X12 transaction, CSV record, XML document) -> canonical events.
// Compiled once; running a compiled mapping never touches the YAML again.

import { didYouMean, type Diagnostic } from './diagnostics.js';
import {
  evaluatePlan, SpecCompiler, type EvalEnv, type SourceAdapter, type Value,
} from './spec.js';
import type { CodeTables } from './tables.js';
import type { YamlSource } from './yaml-source.js';
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

  const compiler = new SpecCompiler<C>(src, adapter, tables);
  let foreach: unknown = null;
  if (m.foreach !== undefined) {
    if (typeof m.foreach !== 'string') diagnostics.push(src.diagnostic('MAP_SPEC_INVALID', "'foreach' is a loop path such as LX/AT7", ['foreach']));
    else {
      const lp = adapter.loopPath(m.foreach);
      if ('error' in lp) diagnostics.push(src.diagnostic(lp.code, lp.error, ['foreach'], { suggestion: lp.suggestion }));
      else foreach = lp.path;
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
  };
  return { mapping, diagnostics };
}
