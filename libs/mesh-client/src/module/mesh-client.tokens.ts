/** Injection token of the validated module options. */
export const MESH_RESOLVED_OPTIONS = Symbol.for('@datapunk/mesh-client:resolved-options');

/** @internal what every client's injection token begins with. */
export const CLIENT_TOKEN_PREFIX = '@datapunk/mesh-client:client:';

/** Injection token of the client named `name` (what `@InjectMeshClient(name)` injects). */
export function getMeshClientToken(name: string): string {
  return `${CLIENT_TOKEN_PREFIX}${name}`;
}

/**
 * @internal the client names a module also provides as bare tokens (fromClientsModule's aliases,
 * `@Inject('HERO_PACKAGE')`), so its plugin factory knows them for client dependencies.
 */
export const MESH_CLIENT_NAME_ALIASES = Symbol.for('@datapunk/mesh-client:name-aliases');

/** @internal injection token of the module plugins given beside the options (forRoot, forRootAsync). */
export const MESH_MODULE_PLUGINS = Symbol.for('@datapunk/mesh-client:module-plugins');

/**
 * A rewrite of the module options before they are validated. Optional: when a global module
 * provides it (the testing kit's `MeshTestingModule.withFakes()` does, to point clients at fakes),
 * every MeshClientModule of the application applies it to its raw options (never mutating them).
 */
export type MeshOptionsOverride = (options: unknown) => unknown;

/** @internal injection token of the optional {@link MeshOptionsOverride}. */
export const MESH_OPTIONS_OVERRIDE = Symbol.for('@datapunk/mesh-client:options-override');
