import { describe, expect, it } from 'vitest';
import {
  coordinate, decimalString, exactNumber, impliedDecimal, isValidZone, toImplied, TransformError, x12Date, x12Time, zonedIso,
} from '../../src/mappings/transforms.js';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TransformError);
    return (err as TransformError).code;
  }
  throw new Error('did not throw');
}

describe('x12Date', () => {
  it('reads CCYYMMDD and YYMMDD (pivot at 50)', () => {
    expect(x12Date('20250416')).toBe('2025-04-16');
    expect(x12Date('250416')).toBe('2025-04-16');
    expect(x12Date('491231')).toBe('2049-12-31');
    expect(x12Date('500101')).toBe('1950-01-01');
    expect(x12Date('20240229')).toBe('2024-02-29');
  });

  it('reads ISO dates (CSV and XML sources)', () => {
    expect(x12Date('2025-04-16')).toBe('2025-04-16');
  });

  it('refuses what is not a calendar date', () => {
    for (const bad of ['20250229', '20251301', '20250431', '20250000', '2025041', '2025-02-30', '2025-4-16', '04/16/2025', '', ' 20250416']) {
      expect(code(() => x12Date(bad)), bad).toBe('MAP_BAD_DATE');
    }
  });
});

describe('x12Time', () => {
  it('reads HHMM, HHMMSS and drops decimal seconds', () => {
    expect(x12Time('0000')).toBe('00:00:00');
    expect(x12Time('2359')).toBe('23:59:00');
    expect(x12Time('143015')).toBe('14:30:15');
    expect(x12Time('1430159')).toBe('14:30:15');
    expect(x12Time('14301599')).toBe('14:30:15');
  });

  it('reads HH:MM and HH:MM:SS (CSV and XML sources)', () => {
    expect(x12Time('14:30')).toBe('14:30:00');
    expect(x12Time('14:30:15')).toBe('14:30:15');
  });

  it('refuses invalid times', () => {
    for (const bad of ['2400', '1260', '123060', '143', '14301', '14:3', '25:00', '143015999', '']) {
      expect(code(() => x12Time(bad)), bad).toBe('MAP_BAD_TIME');
    }
  });
});

describe('zonedIso', () => {
  it('gives the offset in force at that wall time, daylight saving included', () => {
    expect(zonedIso('2025-01-15', '12:00:00', 'America/Chicago')).toBe('2025-01-15T12:00:00-06:00');
    expect(zonedIso('2025-07-15', '12:00:00', 'America/Chicago')).toBe('2025-07-15T12:00:00-05:00');
    expect(zonedIso('2025-07-15', '12:00:00', 'Asia/Kolkata')).toBe('2025-07-15T12:00:00+05:30');
    expect(zonedIso('2025-07-15', '12:00:00', 'Australia/Sydney')).toBe('2025-07-15T12:00:00+10:00');
    expect(zonedIso('2025-01-15', '12:00:00', 'Australia/Sydney')).toBe('2025-01-15T12:00:00+11:00');
  });

  it('settles the offset right next to the change', () => {
    // 2025-03-09 02:00 CST -> 03:00 CDT in Chicago; 2025-11-02 02:00 CDT -> 01:00 CST.
    expect(zonedIso('2025-03-09', '01:59:00', 'America/Chicago')).toBe('2025-03-09T01:59:00-06:00');
    expect(zonedIso('2025-03-09', '03:00:00', 'America/Chicago')).toBe('2025-03-09T03:00:00-05:00');
    expect(zonedIso('2025-11-02', '00:59:00', 'America/Chicago')).toBe('2025-11-02T00:59:00-05:00');
    expect(zonedIso('2025-11-02', '02:00:00', 'America/Chicago')).toBe('2025-11-02T02:00:00-06:00');
    // Europe changes at 01:00 UTC on the last Sunday of March.
    expect(zonedIso('2025-03-30', '01:30:00', 'Europe/Berlin')).toBe('2025-03-30T01:30:00+01:00');
    expect(zonedIso('2025-03-30', '03:30:00', 'Europe/Berlin')).toBe('2025-03-30T03:30:00+02:00');
  });

  it('a wall time the spring change skips moves forward by the gap; one the autumn change repeats is the earlier', () => {
    // 02:00-02:59 never happen on 2025-03-09 in Chicago: 02:30 CST would have been 08:30Z, which is 03:30 CDT.
    expect(zonedIso('2025-03-09', '02:30:00', 'America/Chicago')).toBe('2025-03-09T03:30:00-05:00');
    expect(zonedIso('2025-03-09', '02:00:00', 'America/Chicago')).toBe('2025-03-09T03:00:00-05:00');
    // East of UTC the same rule: Berlin skips 02:00-02:59 on 2025-03-30.
    expect(zonedIso('2025-03-30', '02:30:00', 'Europe/Berlin')).toBe('2025-03-30T03:30:00+02:00');
    // 01:30 happens twice on 2025-11-02 in Chicago (CDT, then CST), 02:30 twice on 2025-10-26 in Berlin.
    expect(zonedIso('2025-11-02', '01:30:00', 'America/Chicago')).toBe('2025-11-02T01:30:00-05:00');
    expect(zonedIso('2025-10-26', '02:30:00', 'Europe/Berlin')).toBe('2025-10-26T02:30:00+02:00');
    // A moved time keeps its fraction of a second.
    expect(zonedIso('2025-03-09', '02:30:00.25', 'America/Chicago')).toBe('2025-03-09T03:30:00.25-05:00');
  });

  it('agrees with Intl asked directly, every 5 minutes of the days that change the clocks and of the days around them', () => {
    // zonedIso caches each zone's offsets by quarter hour and settles wall times next to a change in two
    // passes: this compares it with an uncached reference on exactly those days, in zones with half-hour
    // changes (Lord Howe) and offsets (St John's, Chatham) too.
    const formats = new Map<string, Intl.DateTimeFormat>();
    const offsetAt = (zone: string, ms: number): number => {
      let format = formats.get(zone);
      if (!format) formats.set(zone, (format = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })));
      const name = format.formatToParts(new Date(ms)).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
      const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
      return m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
    };
    const two = (n: number) => String(n).padStart(2, '0');
    // By brute force: every offset the zone has within two days, and which of them the wall time happens
    // under; of two the earlier instant; of none, the instant under the offset before the change, shown
    // in the offset after it (java.time's and Temporal's "compatible").
    const reference = (date: string, time: string, zone: string): string => {
      const wall = Date.parse(`${date}T${time}Z`);
      const offsets = [...new Set([-2, -1, 0, 1, 2].map((d) => offsetAt(zone, wall + d * DAY)))];
      const happens = offsets.filter((o) => offsetAt(zone, wall - o * 60_000) === o);
      let off: number;
      let shown = wall;
      if (happens.length > 0) off = Math.max(...happens);
      else {
        const instant = wall - Math.min(...offsets) * 60_000;
        off = offsetAt(zone, instant);
        shown = instant + off * 60_000;
      }
      const a = Math.abs(off);
      return `${new Date(shown).toISOString().slice(0, 19)}${off < 0 ? '-' : '+'}${two(Math.floor(a / 60))}:${two(a % 60)}`;
    };
    const DAY = 86_400_000;
    let compared = 0;
    for (const zone of ['America/Chicago', 'Europe/Berlin', 'Australia/Sydney', 'Australia/Lord_Howe', 'America/St_Johns', 'Pacific/Chatham']) {
      // The days of 2025 whose midnight offset differs from the next day's, and the day on each side.
      const days = new Set<number>();
      for (let d = Date.UTC(2025, 0, 1); d < Date.UTC(2026, 0, 1); d += DAY) {
        if (offsetAt(zone, d) !== offsetAt(zone, d + DAY)) for (const k of [-1, 0, 1, 2]) days.add(d + k * DAY);
      }
      expect(days.size, zone).toBeGreaterThanOrEqual(8);
      for (const d of days) {
        const date = new Date(d).toISOString().slice(0, 10);
        for (let minute = 0; minute < 24 * 60; minute += 5) {
          const time = `${two(Math.floor(minute / 60))}:${two(minute % 60)}:00`;
          expect(zonedIso(date, time, zone), `${zone} ${date} ${time}`).toBe(reference(date, time, zone));
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(10_000);
  });

  it('fixed offsets and UTC', () => {
    expect(zonedIso('2025-07-15', '08:00:00', '-05:00')).toBe('2025-07-15T08:00:00-05:00');
    expect(zonedIso('2025-07-15', '08:00:00', '+05:45')).toBe('2025-07-15T08:00:00+05:45');
    expect(zonedIso('2025-07-15', '08:00:00', 'UTC')).toBe('2025-07-15T08:00:00Z');
    expect(zonedIso('2025-07-15', '08:00:00', 'Europe/London')).toBe('2025-07-15T08:00:00+01:00');
    expect(zonedIso('2025-01-15', '08:00:00', 'Europe/London')).toBe('2025-01-15T08:00:00+00:00');
  });

  it('an unknown zone is MAP_BAD_TIMEZONE', () => {
    expect(code(() => zonedIso('2025-07-15', '08:00:00', 'America/Chicgo'))).toBe('MAP_BAD_TIMEZONE');
  });

  it('isValidZone', () => {
    expect(isValidZone('America/Chicago')).toBe(true);
    expect(isValidZone('-06:00')).toBe(true);
    expect(isValidZone('+14:00')).toBe(true);
    expect(isValidZone('America/Chicgo')).toBe(false);
    expect(isValidZone('-6:00')).toBe(false);
    expect(isValidZone('+15:00')).toBe(false);
  });
});

describe('impliedDecimal', () => {
  it('places the implied decimals exactly', () => {
    expect(impliedDecimal('65940', 2)).toBe('659.40');
    expect(impliedDecimal('-6858', 2)).toBe('-68.58');
    expect(impliedDecimal('5', 2)).toBe('0.05');
    expect(impliedDecimal('00123', 2)).toBe('1.23');
    expect(impliedDecimal('+7', 0)).toBe('7');
    expect(impliedDecimal('-0', 2)).toBe('0.00');
    expect(impliedDecimal('0', 0)).toBe('0');
    expect(impliedDecimal(' 1500 ', 1)).toBe('150.0');
    // Beyond float precision: never a number in between.
    expect(impliedDecimal('123456789012345678901', 2)).toBe('1234567890123456789.01');
  });

  it('refuses what is not an integer', () => {
    for (const bad of ['12.50', '', '1,000', 'abc', '--5', '1e5']) expect(code(() => impliedDecimal(bad, 2)), bad).toBe('MAP_BAD_DECIMAL');
  });
});

describe('exactNumber', () => {
  it('a decimal as a JSON number when the number is exactly it; more than 15 significant digits is MAP_BAD_DECIMAL', () => {
    expect(exactNumber('1820')).toBe(1820);
    expect(exactNumber('-0.50')).toBe(-0.5);
    expect(exactNumber('123456789012345')).toBe(123456789012345);
    expect(exactNumber('0.000000000000001234')).toBe(0.000000000000001234);
    expect(exactNumber('1234567890123450000')).toBe(1234567890123450000); // trailing zeros are not precision
    for (const v of ['1234567890123456', '12345678901234567890', '0.1234567890123456']) {
      expect(() => exactNumber(v), v).toThrow(expect.objectContaining({ code: 'MAP_BAD_DECIMAL' }));
    }
  });
});

describe('decimalString', () => {
  it('normalises decimals written with a point', () => {
    expect(decimalString('1820')).toBe('1820');
    expect(decimalString('31.40')).toBe('31.40');
    expect(decimalString('007.25')).toBe('7.25');
    expect(decimalString('.5')).toBe('0.5');
    expect(decimalString('-.5')).toBe('-0.5');
    expect(decimalString('5.')).toBe('5');
    expect(decimalString('-0.0')).toBe('0.0');
    expect(decimalString('+12')).toBe('12');
    expect(decimalString('1,820.50')).toBe('1820.50');
  });

  it('refuses what is not a decimal', () => {
    for (const bad of ['', '.', '+', '1.2.3', '1e5', 'N/A', '12-']) expect(code(() => decimalString(bad)), bad).toBe('MAP_BAD_DECIMAL');
  });

  it('takes a comma only as a thousands separator: a decimal comma is refused, never dropped (65,00 was 6500)', () => {
    expect(decimalString('1,234.56')).toBe('1234.56');
    expect(decimalString('12,345,678')).toBe('12345678');
    expect(decimalString('-1,000')).toBe('-1000');
    for (const bad of ['65,00', '6,5', '12,34,5', '1,2345', ',100', '1,000,00', '1.000,50']) {
      expect(code(() => decimalString(bad)), bad).toBe('MAP_BAD_DECIMAL');
    }
  });

  it('answers values already in normal form exactly as the general path does', () => {
    // The general path, as decimalString had it before its shortcut for plain values.
    const reference = (v: string): string | null => {
      if (v.includes(',') && !/^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?$/.test(v.trim())) return null;
      const t = v.trim().replace(/,/g, '');
      const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(t);
      if (!m || (m[2] === '' && (m[3] ?? '') === '')) return null;
      const out = `${(m[2] || '0').replace(/^0+(?=\d)/, '')}${m[3] ? `.${m[3]}` : ''}`;
      return /^0(\.0*)?$/.test(out) ? out : (m[1] === '-' ? '-' : '') + out;
    };
    const alphabet = ['0', '1', '9', '.', '-', '+', ' ', ',', 'x'];
    let checked = 0;
    for (let n = 0; n <= 4; n++) {
      for (let k = 0; k < alphabet.length ** n; k++) {
        let v = '';
        for (let i = 0, x = k; i < n; i++, x = Math.floor(x / alphabet.length)) v += alphabet[x % alphabet.length];
        const want = reference(v);
        if (want === null) expect(code(() => decimalString(v)), JSON.stringify(v)).toBe('MAP_BAD_DECIMAL');
        else expect(decimalString(v), JSON.stringify(v)).toBe(want);
        checked++;
      }
    }
    expect(checked).toBe(7381);
  });
});

describe('toImplied', () => {
  it('writes a decimal as an integer with implied decimals, never rounding', () => {
    expect(toImplied('1826.97', 2)).toBe('182697');
    expect(toImplied('1826.970', 2)).toBe('182697');
    expect(toImplied('0.05', 2)).toBe('5');
    expect(toImplied('12', 2)).toBe('1200');
    expect(toImplied('-1.5', 2)).toBe('-150');
    expect(toImplied('-0.00', 2)).toBe('0');
    expect(toImplied('12', 0)).toBe('12');
    expect(code(() => toImplied('1826.975', 2))).toBe('MAP_BAD_DECIMAL');
    expect(code(() => toImplied('1,826.97', 2))).toBe('MAP_BAD_DECIMAL');
  });

  it('round-trips with impliedDecimal', () => {
    for (const v of ['0.01', '659.40', '-68.58', '100000.00']) expect(impliedDecimal(toImplied(v, 2), 2)).toBe(v);
  });
});

describe('coordinate', () => {
  it('reads DDDMMSS with a hemisphere', () => {
    expect(coordinate('0414521', 'N')).toBeCloseTo(41 + 45 / 60 + 21 / 3600, 6);
    expect(coordinate('0873752', 'W')).toBeCloseTo(-(87 + 37 / 60 + 52 / 3600), 6);
    expect(coordinate('0873752', 'w')).toBeLessThan(0);
    expect(coordinate('0335000', 'S')).toBeCloseTo(-33.833333, 6);
    expect(coordinate('1510000', 'E')).toBe(151);
    expect(coordinate('414521')).toBeCloseTo(41.755833, 6); // DDMMSS (six digits) is padded
  });

  it('reads decimal degrees; S/W make them negative', () => {
    expect(coordinate('-87.6298')).toBe(-87.6298);
    expect(coordinate('87.6298', 'W')).toBe(-87.6298);
    expect(coordinate('41.88')).toBe(41.88);
    expect(coordinate('41.88', '')).toBe(41.88);
  });

  it('refuses bad minutes, seconds, formats and hemispheres', () => {
    for (const [v, h] of [['0416021', 'N'], ['0414560', 'N'], ['41.88.1', undefined], ['N41', undefined], ['0414521', 'X'], ['12345', undefined]] as const) {
      expect(code(() => coordinate(v, h)), `${v} ${h}`).toBe('MAP_BAD_DECIMAL');
    }
  });
});
