// Every fixture of every published version must keep validating against its version's schema, forever.
// Plus negative cases showing the readable error paths parseEvent reports.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  type CanonicalIssue,
  catalogue,
  commandIdFor,
  eventIdFromSource,
  formatIssues,
  isTypeKey,
  parseAs,
  parseEvent,
} from '../../src/canonical/index.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

const dirs = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

function fixtureFiles(dir: string): string[] {
  return readdirSync(join(FIXTURES, dir))
    .filter((f) => f.endsWith('.json'))
    .sort();
}

function load(dir: string, file: string): Record<string, any> {
  return JSON.parse(readFileSync(join(FIXTURES, dir, file), 'utf8')) as Record<string, any>;
}

/** A deep copy of a fixture, changed by `edit`. */
function variant(dir: string, file: string, edit: (doc: Record<string, any>) => void): Record<string, any> {
  const doc = structuredClone(load(dir, file));
  edit(doc);
  return doc;
}

function issuesOf(doc: unknown): CanonicalIssue[] {
  const result = parseEvent(doc);
  if (result.ok) throw new Error('expected the document to be rejected');
  return result.issues;
}

describe('fixture folders', () => {
  it('are named <type>@<version> after a registered schema', () => {
    for (const dir of dirs) expect(isTypeKey(dir), `${dir} is not a registered type`).toBe(true);
  });

  it('exist, with several examples, for every registered schema', () => {
    for (const entry of catalogue) {
      expect(dirs, `no fixtures for ${entry.type}`).toContain(entry.type);
      expect(fixtureFiles(entry.type).length, `fixtures for ${entry.type}`).toBeGreaterThanOrEqual(3);
    }
  });
});

for (const dir of dirs) {
  describe(`fixtures of ${dir}`, () => {
    for (const file of fixtureFiles(dir)) {
      it(`${file} validates`, () => {
        const doc = load(dir, file);
        const result = parseEvent(doc);
        if (!result.ok) expect.fail(`${dir}/${file}:\n${formatIssues(result.issues)}`);
        expect(result.type).toBe(dir);
        // No unknown keys in fixtures: parsing returns exactly what is on disk.
        expect(result.value).toEqual(doc);
      });

      it(`${file} has the id its envelope derives`, () => {
        const doc = load(dir, file);
        if (doc.kind === 'event') expect(doc.id).toBe(eventIdFromSource(doc.partner, doc.source));
        else expect(doc.id).toBe(commandIdFor(doc.partner, doc.type, doc.requestId));
      });
    }
  });
}

describe('readable errors', () => {
  const STATUS = 'shipment.status@1';
  const INVOICE = 'freight.invoice@1';
  const TENDER = 'load.tender@1';

  it('rejects money given as a JSON number, at the amount\'s path', () => {
    const doc = variant(INVOICE, 'x12-210-linehaul-fuel-discount.json', (d) => {
      d.charges[1].amount.amount = 263.77;
    });
    expect(issuesOf(doc)).toEqual([
      expect.objectContaining({ path: 'charges[1].amount.amount', message: expect.stringMatching(/decimal string.*not a JSON number/) }),
    ]);
  });

  it('rejects badly formatted decimal strings', () => {
    for (const bad of ['1,438.20', '1438.', '.5', '1e3', '+12.00', '01.00', ' 12.00']) {
      const doc = variant(INVOICE, 'x12-210-linehaul-fuel-discount.json', (d) => {
        d.amountDue.amount = bad;
      });
      const issues = issuesOf(doc);
      expect(issues.map((i) => i.path), bad).toContain('amountDue.amount');
      expect(issues.find((i) => i.path === 'amountDue.amount')?.message).toMatch(/decimal string/);
    }
  });

  it('rejects a timestamp without a UTC offset', () => {
    const doc = variant(STATUS, 'x12-214-delivered-with-lat-long.json', (d) => {
      d.occurredAt = '2024-03-07T13:52:00';
    });
    expect(issuesOf(doc)).toEqual([
      expect.objectContaining({ path: 'occurredAt', code: 'invalid_format', message: expect.stringMatching(/no UTC offset/) }),
    ]);
  });

  it('reports nested timestamps by their full path', () => {
    const doc = variant(TENDER, 'original-three-stops.json', (d) => {
      d.stops[2].appointment.start = '2024-03-07 13:00';
    });
    expect(issuesOf(doc).map((i) => i.path)).toEqual(['stops[2].appointment.start']);
  });

  it('rejects an unknown milestone and lists the known ones', () => {
    const doc = variant(STATUS, 'x12-214-delivered-with-lat-long.json', (d) => {
      d.status.milestone = 'teleported';
    });
    const [issue, ...rest] = issuesOf(doc);
    expect(rest).toEqual([]);
    expect(issue.path).toBe('status.milestone');
    expect(issue.message).toMatch(/"delivered"/);
  });

  it('reports missing envelope fields as required', () => {
    const doc = variant(STATUS, 'x12-214-delivered-with-lat-long.json', (d) => {
      delete d.receivedAt;
      delete d.source.interchangeControlNumber;
    });
    const issues = issuesOf(doc);
    expect(issues).toContainEqual(expect.objectContaining({ path: 'receivedAt', message: 'is required (expected string)' }));
    expect(issues).toContainEqual(expect.objectContaining({ path: 'source.interchangeControlNumber' }));
    expect(formatIssues(issues)).toContain('receivedAt: is required (expected string)');
  });

  it('rejects an unknown source format at source.format', () => {
    const doc = variant(STATUS, 'csv-exception-breakdown.json', (d) => {
      d.source.format = 'edifact';
    });
    expect(issuesOf(doc).map((i) => i.path)).toEqual(['source.format']);
  });

  it('explains a missing, unknown or unknown-version type', () => {
    const base = load(STATUS, 'x12-214-delivered-with-lat-long.json');
    const { type: _type, ...untyped } = base;
    expect(issuesOf(untyped)).toEqual([expect.objectContaining({ path: 'type', message: expect.stringMatching(/^is required/) })]);
    expect(issuesOf({ ...base, type: 'shipment.status@9' })[0].message).toBe(
      'unknown version 9 of shipment.status; known: shipment.status@1',
    );
    expect(issuesOf({ ...base, type: 'parcel.scan@1' })[0].message).toMatch(/^unknown type "parcel.scan@1"/);
    expect(parseEvent({ ...base, type: 'parcel.scan@1' })).toMatchObject({ ok: false, type: 'parcel.scan@1' });
  });

  it('accepts JSON text and reports JSON syntax errors at the root', () => {
    const text = readFileSync(join(FIXTURES, STATUS, 'x12-214-delivered-with-lat-long.json'), 'utf8');
    expect(parseEvent(text).ok).toBe(true);
    expect(issuesOf('{"type": ')).toEqual([expect.objectContaining({ path: '(root)', code: 'invalid_json' })]);
    expect(issuesOf([1, 2])).toEqual([expect.objectContaining({ path: '(root)', message: 'expected a JSON object' })]);
  });

  it('needs the kind of a freight invoice', () => {
    const doc = variant(INVOICE, 'command-cad-accessorials-gst.json', (d) => {
      delete d.kind;
    });
    expect(issuesOf(doc).map((i) => i.path)).toEqual(['kind']);
  });

  it('requires an outbound invoice\'s charges to add up to amountDue, exactly', () => {
    const doc = variant(INVOICE, 'command-cad-accessorials-gst.json', (d) => {
      d.amountDue.amount = '2820.31';
    });
    expect(issuesOf(doc)).toEqual([
      expect.objectContaining({ path: 'amountDue.amount', message: 'charges add up to 2820.30, not 2820.31' }),
    ]);
    // Same amount, other scale: equal.
    const same = variant(INVOICE, 'command-cad-accessorials-gst.json', (d) => {
      d.amountDue.amount = '2820.3';
    });
    expect(parseEvent(same).ok).toBe(true);
  });

  it('records an inbound invoice even when its charges do not add up', () => {
    const doc = variant(INVOICE, 'x12-210-linehaul-fuel-discount.json', (d) => {
      d.amountDue.amount = '1755.00';
    });
    expect(parseEvent(doc).ok).toBe(true);
  });

  it('rejects positive discounts and mixed currencies', () => {
    const doc = variant(INVOICE, 'x12-210-linehaul-fuel-discount.json', (d) => {
      d.charges[3].amount.amount = '71.91';
      d.charges[0].amount.currency = 'CAD';
    });
    expect(issuesOf(doc).map((i) => `${i.path}: ${i.message}`)).toEqual([
      'charges[0].amount.currency: charge currency CAD differs from amountDue currency USD',
      'charges[3].amount.amount: a discount is a negative amount',
    ]);
  });

  it('checks milestone-specific fields', () => {
    const doc = variant(STATUS, 'x12-214-delivery-appointment.json', (d) => {
      delete d.appointment;
    });
    expect(issuesOf(doc)).toEqual([
      expect.objectContaining({ path: 'appointment', message: 'milestone appointment_set needs the appointment' }),
    ]);
  });

  it('checks latitude and longitude: in range, and together', () => {
    const outOfRange = variant(STATUS, 'x12-214-delivered-with-lat-long.json', (d) => {
      d.location.latitude = 91;
    });
    expect(issuesOf(outOfRange).map((i) => i.path)).toEqual(['location.latitude']);
    const alone = variant(STATUS, 'x12-214-delivered-with-lat-long.json', (d) => {
      delete d.location.longitude;
    });
    expect(issuesOf(alone)).toEqual([
      expect.objectContaining({ path: 'location.longitude', message: 'latitude and longitude come together' }),
    ]);
  });

  it('checks load tender stops: ascending sequence, a pick-up and a delivery', () => {
    const doc = variant(TENDER, 'original-three-stops.json', (d) => {
      d.stops[2].sequence = 2;
    });
    expect(issuesOf(doc).map((i) => `${i.path}: ${i.message}`)).toEqual([
      'stops[2].sequence: stop sequence 2 does not follow 2; sequences must ascend',
    ]);
    const noDelivery = variant(TENDER, 'original-three-stops.json', (d) => {
      d.stops = d.stops.slice(0, 1);
    });
    expect(issuesOf(noDelivery).map((i) => i.path)).toEqual(['stops']);
  });

  it('validates against one named type with parseAs', () => {
    const doc = load(TENDER, 'cancel.json');
    const result = parseAs('load.tender@1', doc);
    expect(result.ok && result.value.purpose).toBe('cancel');
    expect(parseAs('shipment.status@1', doc).ok).toBe(false);
  });
});
