import { targetProblem } from '../config/target.js';
import type { OptionChecks } from './option-checks.js';

/**
 * A client's `target`, checked. A target holding user credentials (`user:password@`) is refused
 * without being quoted: gRPC targets carry no credentials, and the message must not carry them
 * either (channel credentials and metadata are where they belong).
 */
export function checkedTarget(check: OptionChecks, raw: unknown): string {
  const target = check.nonEmptyString('target', raw);
  if (target.includes('@')) {
    check.fail('target', "must not hold user credentials ('user:password@'); put them in tls or metadata, never in the target", target, {
      secret: true,
    });
  }
  const problem = targetProblem(target);
  if (problem) check.fail('target', problem, target);
  return target;
}
