/** Injection token of the validated module options. */
export const MESH_RESOLVED_OPTIONS = Symbol.for('@datapunk/mesh-client:resolved-options');

/** Injection token of the client named `name` (what `@InjectMeshClient(name)` injects). */
export function getMeshClientToken(name: string): string {
  return `@datapunk/mesh-client:client:${name}`;
}

/** @internal injection token of the module plugins given beside the options (forRoot, forRootAsync). */
export const MESH_MODULE_PLUGINS = Symbol.for('@datapunk/mesh-client:module-plugins');
