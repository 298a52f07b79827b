// Checks of X12 element values by character, shared by the validator's element loop
// (validate-transaction.ts) and the generated segment checks (segment-check.ts), which must agree.

/** C0 and C1 control characters and DEL: never valid in an X12 value. */
export function isControlChar(c: number): boolean {
  return c < 32 || c === 127 || (c >= 128 && c < 160);
}

/** Index of the first control character (C0, DEL, C1) in v[start, end), or -1. */
export function badCharAt(v: string, start: number, end: number): number {
  for (let i = start; i < end; i++) if (isControlChar(v.charCodeAt(i))) return i;
  return -1;
}

export function allDigits(v: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * Number of digits in a numeric value (sign and decimal point not counted), or -1 when it is not a
 * number: optional leading '-', digits, and for R at most one '.'.
 */
export function numericDigits(v: string, start: number, end: number, decimal: boolean): number {
  let i = start;
  if (v.charCodeAt(i) === 45) i++;
  let digits = 0;
  let point = false;
  for (; i < end; i++) {
    const c = v.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c === 46 && decimal && !point) point = true;
    else return -1;
  }
  return digits > 0 ? digits : -1;
}

function num2(v: string, i: number): number {
  return (v.charCodeAt(i) - 48) * 10 + (v.charCodeAt(i + 1) - 48);
}

/** CCYYMMDD, or YYMMDD when the element allows 6 characters. */
export function validDate(v: string, start: number, end: number): boolean {
  const len = end - start;
  let year: number;
  let i: number;
  if (len === 8) {
    year = num2(v, start) * 100 + num2(v, start + 2);
    i = start + 4;
  } else if (len === 6) {
    year = 2000 + num2(v, start); // only leap years matter: 00 is treated as 2000
    i = start + 2;
  } else {
    return false;
  }
  const month = num2(v, i);
  const day = num2(v, i + 2);
  if (month < 1 || month > 12 || day < 1) return false;
  const dim = month === 2 ? ((year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28)
    : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  return day <= dim;
}

/** HHMM, HHMMSS, HHMMSSD or HHMMSSDD. */
export function validTime(v: string, start: number, end: number): boolean {
  const len = end - start;
  if (len !== 4 && len !== 6 && len !== 7 && len !== 8) return false;
  if (num2(v, start) > 23 || num2(v, start + 2) > 59) return false;
  if (len >= 6 && num2(v, start + 4) > 59) return false;
  return true;
}
