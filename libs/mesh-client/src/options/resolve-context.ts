import { TRUSTED_INCOMING_ALL, TRUSTED_INCOMING_DEFAULT } from '../config/defaults.js';
import { CONTEXT_HEADERS } from '../config/metadata-keys.js';
import type { MeshTrustedHeader } from '../config/security-context.interface.js';
import { didYouMean } from '../errors/did-you-mean.js';
import { metadataProblem } from '../security/metadata.js';
import type { OptionChecks } from './option-checks.js';

const NAMES = TRUSTED_INCOMING_ALL.map((k) => `'${k}'`).join(', ');

/** `contextExtraKeys`: metadata keys an incoming request's context may carry on as `extra`. */
export function resolveContextExtraKeys(root: OptionChecks, raw: unknown): readonly string[] {
  const keys = raw ?? [];
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string' && metadataProblem(k, '') === undefined)) {
    root.fail('contextExtraKeys', "must be an array of lowercase metadata keys (not 'grpc-*' or '__proto__')", raw);
  }
  (keys as string[]).forEach((key, i) => {
    if (CONTEXT_HEADERS.includes(key))
      root.fail(
        `contextExtraKeys[${String(i)}]`,
        "must not be a key of the context itself (whether it is taken from incoming requests is trustIncoming's say)",
        key,
      );
  });
  return Object.freeze([...(keys as string[])]);
}

/** `trustIncoming`: the parts of the context incoming requests fill, each at most once. */
export function resolveTrustIncoming(root: OptionChecks, raw: unknown): readonly MeshTrustedHeader[] {
  if (raw === undefined) return TRUSTED_INCOMING_DEFAULT;
  if (!Array.isArray(raw)) return root.fail('trustIncoming', `must be an array of ${NAMES}`, raw);
  raw.forEach((item: unknown, i) => {
    const at = `trustIncoming[${String(i)}]`;
    if (!TRUSTED_INCOMING_ALL.includes(item as MeshTrustedHeader)) {
      root.fail(at, `must be one of ${NAMES}${typeof item === 'string' ? didYouMean(item, TRUSTED_INCOMING_ALL) : ''}`, item);
    }
    if (raw.indexOf(item) !== i) root.fail(at, 'is listed twice', item);
  });
  return Object.freeze([...(raw as MeshTrustedHeader[])]);
}
