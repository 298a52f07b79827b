// The code lists of the ISA header's coded fields, one table, no logic beyond look-ups. Values are the
// X12 interchange control elements' code lists (I01, I03, I05, I10, I11, I13, I14) as the standard's
// third-party renderings list them (xlate/staedi src/main/resources/X12/common.xml; x12-notes.md §0 for
// ISA11 and ISA12). The envelope checks (envelope.ts) and the acknowledgment builder (an ack never
// mirrors an ISA12 that is no version) read them here.

/** ISA01 Authorization Information Qualifier (I01). */
export const AUTHORIZATION_QUALIFIERS: ReadonlySet<string> = new Set(['00', '01', '02', '03', '04', '05', '06']);

/** ISA03 Security Information Qualifier (I03). */
export const SECURITY_QUALIFIERS: ReadonlySet<string> = new Set(['00', '01']);

/** ISA05 / ISA07 Interchange ID Qualifier (I05): the union of the releases' lists, so a later code is no deviation. */
export const ID_QUALIFIERS: ReadonlySet<string> = new Set([
  '01', '02', '03', '04', '07', '08', '09', '10', '11', '12', '13', '14', '15', '16', '17', '18', '19', '20',
  '21', '22', '23', '24', '25', '26', '27', '28', '29', '30', '31', '32', '33', '34', '35', '36', '37', '38',
  'AM', 'NR', 'SA', 'SN', 'ZZ',
]);

/** ISA11 before 00402: Interchange Control Standards Identifier (I10), whose only code is U (ASC X12). */
export const STANDARDS_IDENTIFIER = 'U';

/** The first ISA12 in which ISA11 is the repetition separator rather than the standards identifier. */
export const FIRST_REPETITION_VERSION = '00402';

/** ISA12 Interchange Control Version Number (I11): every published control version. */
export const INTERCHANGE_VERSIONS: ReadonlySet<string> = new Set([
  '00200', '00201', '00204',
  '00300', '00301', '00302', '00303', '00304', '00305', '00306', '00307',
  '00400', '00401', '00402', '00403', '00404', '00405', '00406',
  '00500', '00501', '00502', '00503', '00504', '00505',
  '00600', '00601', '00602', '00603', '00604', '00605',
  '00700', '00701', '00702', '00703', '00704',
  '00800', '00801',
]);

/** The newest control version in INTERCHANGE_VERSIONS. */
const NEWEST_VERSION = '00801';

/** ISA14 Acknowledgment Requested (I13). */
export const ACK_REQUESTED_CODES: ReadonlySet<string> = new Set(['0', '1']);

/** ISA15 Interchange Usage Indicator (I14): production, test, information. */
export const USAGE_INDICATORS: ReadonlySet<string> = new Set(['P', 'T', 'I']);

/** True for an ISA12 that is a published interchange control version ('00401', '00501', ...). */
export function isKnownInterchangeVersion(version: string): boolean {
  return INTERCHANGE_VERSIONS.has(version.trim());
}

/**
 * True for an ISA12 that is no published version but reads as a later one: five digits past the newest
 * known, a version number of at most 009 and a release of 00-09 (versions are VVVRR: 004 release 01 is
 * 00401). Such a value may be a release newer than this list: "not supported" (TA1 003) rather than
 * "no version" (017). 00999, 00000 or 00100 are no version at all.
 */
export function isLaterInterchangeVersion(version: string): boolean {
  const v = version.trim();
  return /^00\d0\d$/.test(v) && v > NEWEST_VERSION;
}
