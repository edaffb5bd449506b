/** Words of an identifier as lodash's camelCase splits them (`GetHTTPStatus` -> Get, HTTP, Status). */
const WORDS = /[A-Z]{2,}(?=[A-Z][a-z]+\d*|\b|[_\d])|[A-Z]?[a-z]+\d*|[A-Z]+|\d+/g;

/**
 * The name Nest's `ClientGrpc.getService()` gives an RPC: proto-loader's `originalName` (lodash
 * camelCase of the RPC name: `GetHTTPStatus` -> `getHttpStatus`, `list_things` -> `listThings`), or
 * the same computed here for definitions made without proto-loader.
 */
export function nestMethodName(rpc: string, originalName: unknown): string {
  if (typeof originalName === 'string' && originalName !== '') return originalName;
  const words = rpc.match(WORDS) ?? [rpc];
  return words.map((w, i) => (i === 0 ? w.toLowerCase() : w.charAt(0).toUpperCase() + w.slice(1).toLowerCase())).join('');
}

/** Every name an RPC answers to: its proto name, Nest's name and the proto name with a lower first letter. */
export function methodAliases(rpc: string, originalName: unknown): string[] {
  return [...new Set([rpc, nestMethodName(rpc, originalName), rpc.charAt(0).toLowerCase() + rpc.slice(1)])];
}
