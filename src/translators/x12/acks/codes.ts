// Meanings of the acknowledgment code lists, for reports and reconciliation, and which codes each X12
// release has (for the builders).
// Sources: x12-notes.md sections 5, 6, 8 and the element pages cited there (715, 716, 717, 718/618,
// 720/620, 723/621, I17/I18). The 004010 and 005010 lists differ for 716 code 19, 718 codes 18-22 and
// 723 codes 12/13 (00402 on); see LATER_CODES.

export type AckCodeList = '715' | '716' | '717' | '718' | '618' | '720' | '620' | '723' | '621' | 'I17' | 'I18';

const ACK_STATUS_717: Record<string, string> = {
  A: 'Accepted',
  E: 'Accepted But Errors Were Noted',
  M: 'Rejected, Message Authentication Code (MAC) Failed',
  R: 'Rejected',
  W: 'Rejected, Assurance Failed Validity Tests',
  X: 'Rejected, Content After Decryption Could Not Be Analyzed',
};

const SECURITY_718: Record<string, string> = {
  '8': 'Authentication Key Name Unknown',
  '9': 'Encryption Key Name Unknown',
  '10': 'Requested Service (Authentication or Encrypted) Not Available',
  '11': 'Unknown Security Recipient',
  '12': 'Incorrect Message Length (Encryption Only)',
  '13': 'Message Authentication Code Failed',
  '15': 'Unknown Security Originator',
  '16': 'Syntax Error in Decrypted Text',
  '17': 'Security Not Supported',
  '24': 'S3E Security End Segment Missing for S3S Security Start Segment',
  '25': 'S3S Security Start Segment Missing for S3E Security End Segment',
  '26': 'S4E Security End Segment Missing for S4S Security Start Segment',
  '27': 'S4S Security Start Segment Missing for S4E Security End Segment',
};

const BASE_718: Record<string, string> = {
  '1': 'Transaction Set Not Supported',
  '2': 'Transaction Set Trailer Missing',
  '3': 'Transaction Set Control Number in Header and Trailer Do Not Match',
  '4': 'Number of Included Segments Does Not Match Actual Count',
  '5': 'One or More Segments in Error',
  '6': 'Missing or Invalid Transaction Set Identifier',
  '7': 'Missing or Invalid Transaction Set Control Number',
  ...SECURITY_718,
  '23': 'Transaction Set Control Number Not Unique within the Functional Group',
};

const V5010_718: Record<string, string> = {
  '18': 'Transaction Set Not in Functional Group',
  '19': 'Invalid Transaction Set Implementation Convention Reference',
};

const V4010_718: Record<string, string> = {
  '19': 'S1E Security End Segment Missing for S1S Security Start Segment',
  '20': 'S1S Security Start Segment Missing for S1E Security End Segment',
  '21': 'S2E Security End Segment Missing for S2S Security Start Segment',
  '22': 'S2S Security Start Segment Missing for S2E Security End Segment',
};

const SEGMENT_720: Record<string, string> = {
  '1': 'Unrecognized Segment ID',
  '2': 'Unexpected Segment',
  '3': 'Mandatory Segment Missing',
  '4': 'Loop Occurs Over Maximum Times',
  '5': 'Segment Exceeds Maximum Use',
  '6': 'Segment Not in Defined Transaction Set',
  '7': 'Segment Not in Proper Sequence',
  '8': 'Segment Has Data Element Errors',
};

const ELEMENT_723: Record<string, string> = {
  '1': 'Mandatory Data Element Missing',
  '2': 'Conditional Required Data Element Missing',
  '3': 'Too Many Data Elements',
  '4': 'Data Element Too Short',
  '5': 'Data Element Too Long',
  '6': 'Invalid Character In Data Element',
  '7': 'Invalid Code Value',
  '8': 'Invalid Date',
  '9': 'Invalid Time',
  '10': 'Exclusion Condition Violated',
  '12': 'Too Many Repetitions',
  '13': 'Too Many Components',
};

export const ACK_CODES: Readonly<Record<AckCodeList, Readonly<Record<string, string>>>> = {
  /** AK901 functional group acknowledge code. */
  '715': { ...ACK_STATUS_717, P: 'Partially Accepted, At Least One Transaction Set Was Rejected' },
  /** AK905-AK909 functional group syntax error code. */
  '716': {
    '1': 'Functional Group Not Supported',
    '2': 'Functional Group Version Not Supported',
    '3': 'Functional Group Trailer Missing',
    '4': 'Group Control Number in the Functional Group Header and Trailer Do Not Agree',
    '5': 'Number of Included Transaction Sets Does Not Match Actual Count',
    '6': 'Group Control Number Violates Syntax',
    '10': 'Authentication Key Name Unknown',
    '11': 'Encryption Key Name Unknown',
    '12': 'Requested Service (Authentication or Encryption) Not Available',
    '13': 'Unknown Security Recipient',
    '14': 'Unknown Security Originator',
    '15': 'Syntax Error in Decrypted Text',
    '16': 'Security Not Supported',
    '17': 'Incorrect Message Length (Encryption Only)',
    '18': 'Message Authentication Code Failed',
    '19': 'Functional Group Control Number not Unique within Interchange',
    '23': 'S3E Security End Segment Missing for S3S Security Start Segment',
    '24': 'S3S Security Start Segment Missing for S3E Security End Segment',
    '25': 'S4E Security End Segment Missing for S4S Security Start Segment',
    '26': 'S4S Security Start Segment Missing for S4E Security End Segment',
  },
  /** AK501 / IK501 transaction set acknowledgment code. */
  '717': ACK_STATUS_717,
  /** AK502-AK506 transaction set syntax error code (005010 meanings; see `ackCodeMeaning` for 004010). */
  '718': { ...BASE_718, ...V5010_718 },
  /** IK502-IK506 implementation transaction set syntax error code. */
  '618': {
    ...BASE_718,
    ...V5010_718,
    I5: 'Implementation One or More Segments in Error',
    I6: 'Implementation Convention Not Supported',
  },
  /** AK304 segment syntax error code. */
  '720': SEGMENT_720,
  /** IK304 implementation segment syntax error code. */
  '620': {
    ...SEGMENT_720,
    I4: 'Implementation "Not Used" Segment Present',
    I6: 'Implementation Dependent Segment Missing',
    I7: 'Implementation Loop Occurs Under Minimum Times',
    I8: 'Implementation Segment Below Minimum Use',
    I9: 'Implementation Dependent "Not Used" Segment Present',
  },
  /** AK403 element syntax error code. */
  '723': ELEMENT_723,
  /** IK403 implementation element syntax error code. */
  '621': {
    ...ELEMENT_723,
    I6: 'Code Value Not Used in Implementation',
    I9: 'Implementation Dependent Data Element Missing',
    I10: 'Implementation "Not Used" Data Element Present',
    I11: 'Implementation Too Few Repetitions',
    I12: 'Implementation Pattern Match Failure',
    I13: 'Implementation Dependent "Not Used" Data Element Present',
  },
  /** TA104 interchange acknowledgment code. */
  I17: {
    A: 'The Transmitted Interchange Control Structure Header and Trailer Have Been Received and Have No Errors',
    E: 'The Transmitted Interchange Control Structure Header and Trailer Have Been Received and Are Accepted But Errors Are Noted',
    R: 'The Transmitted Interchange Control Structure Header and Trailer are Rejected Because of Errors',
  },
  /** TA105 interchange note code. */
  I18: {
    '000': 'No error',
    '001': 'The Interchange Control Number in the Header and Trailer Do Not Match. The Value From the Header is Used in the Acknowledgment.',
    '002': 'This Standard as Noted in the Control Standards Identifier is Not Supported',
    '003': 'This Version of the Controls is Not Supported',
    '004': 'The Segment Terminator is Invalid',
    '005': 'Invalid Interchange ID Qualifier for Sender',
    '006': 'Invalid Interchange Sender ID',
    '007': 'Invalid Interchange ID Qualifier for Receiver',
    '008': 'Invalid Interchange Receiver ID',
    '009': 'Unknown Interchange Receiver ID',
    '010': 'Invalid Authorization Information Qualifier Value',
    '011': 'Invalid Authorization Information Value',
    '012': 'Invalid Security Information Qualifier Value',
    '013': 'Invalid Security Information Value',
    '014': 'Invalid Interchange Date Value',
    '015': 'Invalid Interchange Time Value',
    '016': 'Invalid Interchange Standards Identifier Value',
    '017': 'Invalid Interchange Version ID Value',
    '018': 'Invalid Interchange Control Number Value',
    '019': 'Invalid Acknowledgment Requested Value',
    '020': 'Invalid Test Indicator Value',
    '021': 'Invalid Number of Included Groups Value',
    '022': 'Invalid Control Structure',
    '023': 'Improper (Premature) End-of-File (Transmission)',
    '024': 'Invalid Interchange Content (e.g., Invalid GS Segment)',
    '025': 'Duplicate Interchange Control Number',
    '026': 'Invalid Data Element Separator',
    '027': 'Invalid Component Element Separator',
    '028': 'Invalid Delivery Date in Deferred Delivery Request',
    '029': 'Invalid Delivery Time in Deferred Delivery Request',
    '030': 'Invalid Delivery Time Code in Deferred Delivery Request',
    '031': 'Invalid Grade of Service Code',
  },
};

/** The release of a GS08 / ISA12 / version string ('004010VICS' and '00401' -> 401), or null when it names none. */
function release(version: string): number | null {
  const digits = version.trim().slice(0, 6);
  return /^\d{5,6}$/.test(digits) ? Number(digits.slice(0, 5)) : null;
}

/** True for a GS08 / ISA12 / version string of release 00501 or later ('005010...', '00501'). */
export function is5010OrLater(version: string): boolean {
  return (release(version) ?? 0) >= 501;
}

/**
 * Codes of the 997 lists that exist only from a release on (x12-notes 5.2), and the nearest code an
 * acknowledgment of an earlier release writes instead (null: none fits, the code is left out).
 *   716 19 (group control number not unique within the interchange, 005010): 6, "group control number
 *          violates syntax", the 004010 code about a control number that breaks the rules for one.
 *   718 18 (transaction set not in a functional group, 005010): none; Waybill never acknowledges a set
 *          outside a group (it is X12_BARE_TRANSACTION, reported at file level).
 *   718 19 (invalid implementation convention reference, 005010; in 004010 19 is a security code): 6,
 *          "missing or invalid transaction set identifier", which ST03 refines from 005010 on.
 *   723 12/13 (too many repetitions / components, 00402): 6, "invalid character in data element": before
 *          00402 a value holds no repetition separator at all, and a component separator only between
 *          the components of a composite, so one more of either is a character the element cannot hold.
 */
const LATER_CODES: Partial<Record<AckCodeList, Record<string, { since: number; nearest: string | null }>>> = {
  '716': { '19': { since: 501, nearest: '6' } },
  '718': { '18': { since: 501, nearest: null }, '19': { since: 501, nearest: '6' } },
  '723': { '12': { since: 402, nearest: '6' }, '13': { since: 402, nearest: '6' } },
};

/** Whether `code` of `list` exists in `version` (a version that names no release has every code). */
function inRelease(list: AckCodeList, code: string, version: string): boolean {
  const later = LATER_CODES[list]?.[code];
  const r = release(version);
  return later === undefined || r === null || r >= later.since;
}

/**
 * The code an acknowledgment of `version` (its GS08) writes for `code`: the code itself when the
 * version has it, else the nearest one it has (LATER_CODES), or null when none fits.
 */
export function ackCodeForVersion(list: AckCodeList, code: string, version: string): string | null {
  return inRelease(list, code, version) ? code : (LATER_CODES[list]?.[code]?.nearest ?? null);
}

/**
 * A GS08 version an acknowledgment can carry: six digits of release, then up to six of industry
 * identifier (004010, 005010X231A1). Anything else (5010, 4010VICS) says nothing a partner's translator
 * can read, and is5010OrLater would take '5010' for an old version and downgrade a 999 to a 997.
 */
export const ACK_VERSION = /^\d{6}[A-Z0-9]{0,6}$/;

/**
 * The meaning of `code` in `list`, or undefined when the code is not in the list. `version` (GS08 or
 * AK103) picks the 004010 meanings of 718 codes 19-22, and leaves out the codes of later releases.
 */
export function ackCodeMeaning(list: AckCodeList, code: string, version?: string): string | undefined {
  const c = code.trim();
  if (list === '718' && version !== undefined && !is5010OrLater(version) && c in V4010_718) return V4010_718[c];
  if (version !== undefined && !inRelease(list, c, version)) return undefined;
  const table = ACK_CODES[list];
  return Object.prototype.hasOwnProperty.call(table, c) ? table[c] : undefined;
}
