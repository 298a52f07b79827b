import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  type EventIdSource,
  type EventSource,
  commandId,
  commandIdFor,
  eventId,
  eventIdFromSource,
} from '../../src/canonical/index.js';

const ID = /^evt_[a-z2-7]{26}$/;

describe('eventId / commandId', () => {
  it('is frozen: these values must never change (ids already sent to the ERP)', () => {
    // Python: "evt_" + b32encode(sha256("\0".join(["x12", "acme-freight", "000004211", "4211", "0001", "0"]))).lower()[:26]
    expect(eventId(['x12', 'acme-freight', '000004211', '4211', '0001', '0'])).toBe('evt_z7ciomcsk6bqhrvgm7h43ar4cy');
    expect(commandId(['acme-freight', 'load.tender@1', 'TND-1'])).toBe('cmd_brs4snttq6fuam422a7yf2vtz6');
    expect(eventIdFromSource('acme-freight', {
      format: 'x12',
      interchangeControlNumber: '000004211',
      groupControlNumber: '4211',
      transactionControlNumber: '0001',
      index: 0,
    })).toBe('evt_z7ciomcsk6bqhrvgm7h43ar4cy');
    expect(commandIdFor('acme-freight', 'load.tender@1', 'TND-1')).toBe('cmd_brs4snttq6fuam422a7yf2vtz6');
  });

  it('an X12 interchange reusing control numbers gets the recipe\'s parts plus its own part; without one the id is the frozen one', () => {
    const source = { format: 'x12' as const, interchangeControlNumber: '000004211', groupControlNumber: '4211', transactionControlNumber: '0001', index: 0 };
    expect(eventIdFromSource('acme-freight', source, undefined)).toBe('evt_z7ciomcsk6bqhrvgm7h43ar4cy');
    const reused = eventIdFromSource('acme-freight', source, 'sha256-abc#1');
    expect(reused).toBe(eventId(['x12', 'acme-freight', '000004211', '4211', '0001', '0', 'sha256-abc#1']));
    expect(reused).not.toBe('evt_z7ciomcsk6bqhrvgm7h43ar4cy');
    expect(eventIdFromSource('acme-freight', source, 'sha256-abc#1')).toBe(reused);
    expect(eventIdFromSource('acme-freight', source, 'sha256-abc#2')).not.toBe(reused);
    // An empty part is still a seventh part.
    expect(eventIdFromSource('acme-freight', source, '')).not.toBe('evt_z7ciomcsk6bqhrvgm7h43ar4cy');
  });

  it('is the RFC 4648 base32 of the SHA-256 of the parts, for any parts (an independent encoder, bit by bit)', () => {
    const reference = (prefix: string, parts: string[]) => {
      const digest = createHash('sha256').update(parts.join('\u0000')).digest();
      let bits = '';
      for (const byte of digest) bits += byte.toString(2).padStart(8, '0');
      let out = prefix;
      for (let i = 0; i < 26; i++) out += 'abcdefghijklmnopqrstuvwxyz234567'[parseInt(bits.slice(i * 5, i * 5 + 5), 2)];
      return out;
    };
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme' }).filter((s) => !s.includes('\u0000')), { minLength: 1, maxLength: 6 }), (parts) => {
        expect(eventId(parts)).toBe(reference('evt_', parts));
        expect(commandId(parts)).toBe(reference('cmd_', parts));
      }),
      { numRuns: 500 },
    );
  });

  it('is a safe BullMQ job id for any parts: no ":", never all digits, fixed shape', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme' }).filter((s) => !s.includes('\u0000')), { minLength: 1, maxLength: 6 }), (parts) => {
        const id = eventId(parts);
        expect(id).toMatch(ID);
        expect(id).not.toContain(':');
        expect(/^[0-9]+$/.test(id)).toBe(false);
        expect(eventId([...parts])).toBe(id);
        expect(commandId(parts)).toMatch(/^cmd_[a-z2-7]{26}$/);
      }),
    );
  });

  it('does not confuse different splits of the same text', () => {
    const ids = new Set([
      eventId(['a:b']),
      eventId(['a', 'b']),
      eventId(['ab']),
      eventId(['a', '', 'b']),
      eventId(['a', 'b', '']),
      eventId(['']),
      eventId(['', '']),
    ]);
    expect(ids.size).toBe(7);
  });

  it('refuses parts containing the separator, and no parts at all', () => {
    expect(() => eventId(['a\u0000b'])).toThrow(/U\+0000/);
    expect(() => eventId([])).toThrow(/at least one part/);
  });

  it('takes any EventSource', () => {
    expectTypeOf<EventSource>().toExtend<EventIdSource>();
  });

  it('keeps formats apart in the source recipe', () => {
    const csv = eventIdFromSource('p', { format: 'csv', fileId: 'f', line: 3, index: 0 });
    const xml = eventIdFromSource('p', { format: 'xml', fileId: 'f', line: 3, index: 0 });
    expect(csv).not.toBe(xml);
    expect(eventIdFromSource('p', { format: 'csv', fileId: 'f', line: 3, index: 1 })).not.toBe(csv);
  });
});
