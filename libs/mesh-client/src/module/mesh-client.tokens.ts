/** Injection token of the validated module options. */
export const MESH_RESOLVED_OPTIONS = Symbol.for('@datapunk/mesh-client:resolved-options');

/** Injection token of the client named `name` (what `@InjectMeshClient(name)` injects). */
export function getMeshClientToken(name: string): string {
  return `@datapunk/mesh-client:client:${name}`;
}
