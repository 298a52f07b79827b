// Building X12Issue values from catalogue codes, so every finding carries its code's severity.
import { catalogue, type ErrorCode } from '../../errors/catalogue.js';
import { elementLocation } from './element-location.js';
import type { Delimiters, Location, Segment, X12Issue } from './model.js';

export type IssueDetails = Omit<X12Issue, 'code' | 'severity' | 'message' | 'loc'> & {
  /** Overrides the catalogue's default severity (e.g. a policy that makes a warning an error). */
  severity?: 'error' | 'warning';
};

export function issue(code: ErrorCode, message: string, loc: Location, details: IssueDetails = {}): X12Issue {
  const { severity, ...rest } = details;
  return { code, severity: severity ?? catalogue[code].severity, message, loc, ...rest };
}

/**
 * An issue about an element of `seg` (details.elementPosition, and its repetition and component when
 * given), located at that element: its segment's location when the delimiters are not known.
 */
export function elementIssue(
  code: ErrorCode, message: string, seg: Segment, delimiters: Delimiters | undefined,
  details: IssueDetails & { elementPosition: number },
): X12Issue {
  return issue(code, message, delimiters ? elementLocation(seg, details, delimiters) : seg.loc, details);
}

export function hasErrors(issues: readonly X12Issue[]): boolean {
  return issues.some((i) => i.severity === 'error');
}
