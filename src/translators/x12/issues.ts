// Building X12Issue values from catalogue codes, so every finding carries its code's severity.
import { catalogue, type ErrorCode } from '../../errors/catalogue.js';
import type { Location, X12Issue } from './model.js';

export type IssueDetails = Omit<X12Issue, 'code' | 'severity' | 'message' | 'loc'> & {
  /** Overrides the catalogue's default severity (e.g. a policy that makes a warning an error). */
  severity?: 'error' | 'warning';
};

export function issue(code: ErrorCode, message: string, loc: Location, details: IssueDetails = {}): X12Issue {
  const { severity, ...rest } = details;
  return { code, severity: severity ?? catalogue[code].severity, message, loc, ...rest };
}

export function hasErrors(issues: readonly X12Issue[]): boolean {
  return issues.some((i) => i.severity === 'error');
}
