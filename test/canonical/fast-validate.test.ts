// The fast validation path (ajv + the schemas' refinements) must never accept what zod refuses: zod is the
// reference. Checked over every fixture and thousands of mutated fixtures (keys removed, values replaced by
// values chosen to sit on the edges: lengths, astral characters, impossible dates, non-finite numbers,
// wrong types, refinement breakers).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { fastAccepts, parseAs, prepareFastValidation, schemaKeyOrder, validateCanonical, type TypeKey } from '../../src/canonical/index.js';
import { inlineDefinitions, markDiscriminators } from '../../src/canonical/fast-validate.js';
import { schemas } from '../../src/canonical/registry.js';
import { COMMAND_ID_PATTERN, EVENT_ID_PATTERN, commandId, eventId, madeIdFor } from '../../src/canonical/ids.js';
import { canonicalFixtures } from './support.js';

const fixtures = canonicalFixtures();

/** Every path to a value inside a document (object keys and array indices). */
function paths(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (Array.isArray(v)) v.forEach((x, i) => { out.push([...prefix, i]); paths(x, [...prefix, i], out); });
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) { out.push([...prefix, k]); paths(x, [...prefix, k], out); }
  return out;
}

const EDGE_VALUES: unknown[] = [
  '', ' ', 'x', 'X'.repeat(2), 'AB', 'ab', 'ABCDE', 'x'.repeat(35), 'x'.repeat(36), 'x'.repeat(60), 'x'.repeat(61), 'x'.repeat(256), 'x'.repeat(1025),
  '\u{1F69A}'.repeat(18), '\u{1F69A}'.repeat(30), '\u{1F69A}'.repeat(40), 'caf\u00e9', 'line\nbreak', 'tab\there',
  '2024-02-30T00:00:00Z', '2024-02-29T00:00:00Z', '2023-02-29T12:00:00-05:00', '2024-01-28T23:01:00-06:00', '2024-01-28T24:00:00Z', '2024-01-28', '2024-13-01',
  '0', '00', '-1', '1.5', '1.', '.5', '12.50', '-12.50', '1e3', 'NaN', '999999999', '1234567890',
  0, 1, -1, 0.5, 90, 91, -180, -181, 1e21, Number.MAX_SAFE_INTEGER + 2, Number.NaN, Number.POSITIVE_INFINITY, true, false, null,
  [], [''], ['x'], {}, { unknown: 1 },
  'event', 'command', 'lb', 'kg', 'USD', 'usd', 'in_transit', 'appointment_set', 'estimated_delivery', 'delivered',
  'evt_aaaaaaaaaaaaaaaaaaaaaaaaaa', 'evt_AAAAAAAAAAAAAAAAAAAAAAAAAA', 'x12', 'csv', 'xml', '214', 'TA1',
];

function mutate(doc: unknown, path: (string | number)[], op: 'delete' | 'set' | 'add', value: unknown): unknown {
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  let parent: Record<string | number, unknown> = copy;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (op === 'delete') {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else if (op === 'set') parent[last] = value;
  else if (Array.isArray(parent)) parent.push(structuredClone(parent[Number(last)]));
  else parent[`extra_${String(last)}`] = value;
  return copy;
}

describe('fast canonical validation agrees with zod', () => {
  it.each(fixtures.map((f) => [f.name, f] as const))('accepts fixture %s like zod does', (_name, f) => {
    expect(parseAs(f.type, f.doc).ok).toBe(true);
    // functional.ack@1 has no fast path when its schema is out of the walker's reach; every other type has one.
    expect(fastAccepts(f.type, f.doc)).toBe(true);
  });

  it('never accepts a mutated event that zod refuses (and agrees on most)', () => {
    let agreed = 0;
    let total = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: fixtures.length - 1 }),
        fc.nat(),
        fc.constantFrom('delete', 'set', 'set', 'add') as fc.Arbitrary<'delete' | 'set' | 'add'>,
        fc.constantFrom(...EDGE_VALUES),
        (fi, pi, op, value) => {
          const f = fixtures[fi];
          const ps = paths(f.doc);
          const m = mutate(f.doc, ps[pi % ps.length], op, value) as Record<string, unknown>;
          const zodOk = parseAs(f.type, m).ok;
          const fast = fastAccepts(f.type, m);
          total++;
          if (fast === zodOk) agreed++;
          if (fast && !zodOk) throw new Error(`fast path accepted what zod refuses: ${f.name} ${op} ${JSON.stringify(ps[pi % ps.length])} = ${JSON.stringify(value)}`);
        },
      ),
      { numRuns: 4000, seed: 20261123 },
    );
    // The fast path is worth having only if it rarely sends a valid event to zod.
    expect(agreed / total).toBeGreaterThan(0.95);
  });

  it('refinements (cross-field rules) are applied on the fast path', () => {
    const status = fixtures.find((f) => f.name === 'shipment.status@1/x12-214-delayed-weather.json')!;
    const noAppointment = { ...status.doc, status: { ...(status.doc.status as object), milestone: 'appointment_set' } };
    delete (noAppointment as Record<string, unknown>).appointment;
    expect(parseAs('shipment.status@1', noAppointment).ok).toBe(false);
    expect(fastAccepts('shipment.status@1', noAppointment)).toBe(false);
    const latOnly = { ...status.doc, location: { city: 'RENO', latitude: 39.5 } };
    expect(parseAs('shipment.status@1', latOnly).ok).toBe(false);
    expect(fastAccepts('shipment.status@1', latOnly)).toBe(false);
  });

  it('validateCanonical returns the candidate itself when accepted (once prepared), and zod\'s issues when not', () => {
    const f = fixtures.find((x) => x.type === 'shipment.status@1')!;
    prepareFastValidation(f.type);
    const ok = validateCanonical(f.type, f.doc);
    expect(ok.ok && ok.value).toBe(f.doc);
    const bad = validateCanonical(f.type, { ...f.doc, carrierScac: 'lowercase!' });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.issues.map((i) => i.path)).toEqual(['carrierScac']);
  });

  it('remembers only accepted pattern values: a repeat passes, a new bad value in each pattern still fails', () => {
    const f = fixtures.find((x) => x.type === 'shipment.status@1')!;
    // The same patterned values over and over (as a file's events repeat receivedAt and partner), then a
    // bad value in each of three different patterns: each pattern keeps its own memory and its own regex.
    for (let i = 0; i < 3; i++) expect(fastAccepts(f.type, { ...f.doc })).toBe(true);
    // Each bad value twice in a row: a refused string must not be remembered as accepted.
    const bad = [{ receivedAt: '2024-02-30T00:00:00Z' }, { partner: 'Not A Partner Id' }, { id: 'evt_AAAAAAAAAAAAAAAAAAAAAAAAAA' }];
    for (const change of bad) for (let i = 0; i < 2; i++) expect(fastAccepts(f.type, { ...f.doc, ...change })).toBe(false);
    expect(fastAccepts(f.type, { ...f.doc })).toBe(true);
  });

  it('takes the id made last as matching its pattern without the regex; any other id is still tested', () => {
    const f = fixtures.find((x) => x.type === 'shipment.status@1')!;
    const made = eventId(['x12', 'acme-freight', '000000001', '1', '0001', '0']);
    expect(madeIdFor(EVENT_ID_PATTERN.source)!()).toBe(made);
    expect(madeIdFor(COMMAND_ID_PATTERN.source)).toBeDefined();
    expect(madeIdFor('^[0-9]{1,9}$')).toBeUndefined();
    expect(fastAccepts(f.type, { ...f.doc, id: made })).toBe(true);
    // Right after an id was made, a bad id (and a command id in an event) is still refused.
    for (const id of ['evt_AAAAAAAAAAAAAAAAAAAAAAAAAA', `${made}x`, made.replace('evt_', 'cmd_'), made.slice(0, -1)]) {
      expect(fastAccepts(f.type, { ...f.doc, id }), id).toBe(false);
      expect(parseAs(f.type, { ...f.doc, id }).ok, id).toBe(false);
    }
    // Every id made matches the pattern the schema holds (the shortcut's premise), whatever its parts.
    fc.assert(fc.property(fc.array(fc.string().filter((p) => !p.includes('\u0000')), { minLength: 1, maxLength: 5 }), (parts) => {
      expect(EVENT_ID_PATTERN.test(eventId(parts))).toBe(true);
      expect(COMMAND_ID_PATTERN.test(commandId(parts))).toBe(true);
    }), { numRuns: 300 });
  });

  it('gives the schema key order of each type (of the selected union option)', () => {
    expect(schemaKeyOrder('shipment.status@1', () => undefined)?.slice(0, 4)).toEqual(['kind', 'id', 'type', 'partner']);
    expect(schemaKeyOrder('freight.invoice@1', (k) => (k === 'kind' ? 'event' : undefined))).toContain('receivedAt');
    expect(schemaKeyOrder('freight.invoice@1', (k) => (k === 'kind' ? 'command' : undefined))).toContain('requestId');
    expect(schemaKeyOrder('freight.invoice@1', () => 'neither')).toBeNull();
  });
});

describe('inlineDefinitions (what the fast path compiles)', () => {
  it('replaces each $ref to $defs with the definition; sibling keywords become an allOf; recursion stays a $ref', () => {
    const schema = {
      type: 'object',
      properties: {
        id: { $ref: '#/$defs/Id' },
        label: { $ref: '#/$defs/Id', maxLength: 5 },
        tree: { $ref: '#/$defs/Node' },
      },
      $defs: {
        Id: { type: 'string', pattern: '^[a-z]+$' },
        Node: { type: 'object', properties: { id: { $ref: '#/$defs/Id' }, children: { type: 'array', items: { $ref: '#/$defs/Node' } } } },
      },
    };
    const out = inlineDefinitions(schema);
    const props = out.properties as Record<string, Record<string, unknown>>;
    expect(props.id).toEqual({ type: 'string', pattern: '^[a-z]+$' });
    expect(props.label).toEqual({ allOf: [{ type: 'string', pattern: '^[a-z]+$' }], maxLength: 5 });
    // Node is inlined once; its reference to itself stays, and so do the $defs it points into.
    expect(props.tree).toEqual({
      type: 'object',
      properties: { id: { type: 'string', pattern: '^[a-z]+$' }, children: { type: 'array', items: { $ref: '#/$defs/Node' } } },
    });
    expect(out.$defs).toBe(schema.$defs);
    // Without recursion nothing of $defs is left.
    expect(inlineDefinitions({ properties: { a: { $ref: '#/$defs/Id' } }, $defs: { Id: { type: 'string' } } }))
      .toEqual({ properties: { a: { type: 'string' } } });
  });

  it('leaves no $ref in any canonical schema, so each type compiles to one function', () => {
    for (const type of Object.keys(schemas) as TypeKey[]) {
      const json = z.toJSONSchema(schemas[type], { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>;
      expect(JSON.stringify(inlineDefinitions(json)), type).not.toContain('$ref');
    }
  });
});

describe('markDiscriminators (ajv checks only the option a tag names)', () => {
  const option = (tag: string, extra: Record<string, unknown> = {}) => ({
    type: 'object', properties: { format: { type: 'string', const: tag }, ...extra }, required: ['format'], additionalProperties: false,
  });

  it("marks a oneOf of objects each requiring its own constant, and makes the node an object (ajv's discriminator skips anything else)", () => {
    const out = markDiscriminators({ type: 'object', properties: { source: { oneOf: [option('x12'), option('csv')] } } });
    const source = (out.properties as Record<string, Record<string, unknown>>).source;
    expect(source.discriminator).toEqual({ propertyName: 'format' });
    expect(source.type).toBe('object');
  });

  it('leaves a oneOf alone when two options share a constant, one lacks it, or it is not required', () => {
    const same = { oneOf: [option('x12'), option('x12')] };
    const missing = { oneOf: [option('x12'), { type: 'object', properties: {} }] };
    const optional = { oneOf: [option('x12'), { ...option('csv'), required: [] }] };
    for (const node of [same, missing, optional]) expect(markDiscriminators(structuredClone(node))).toEqual(node);
  });

  it("is on for the event source (by format) of every event type (a top-level union's options are compiled one by one)", () => {
    const marked = (type: TypeKey) => JSON.stringify(markDiscriminators(inlineDefinitions(
      z.toJSONSchema(schemas[type], { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>)));
    for (const type of ['shipment.status@1', 'tender.response@1', 'freight.invoice@1'] as TypeKey[]) {
      expect(marked(type), type).toContain('"discriminator":{"propertyName":"format"}');
    }
  });
});
