import type { FactoryProvider, ModuleMetadata, Provider, Type } from '@nestjs/common';
import { MeshConfigError } from '../errors/mesh-config.error.js';
import type { ClientsModuleGrpcAsyncEntry, ClientsModuleGrpcOptionsFactory, ClientsModuleGrpcProvider } from './clients-module.interface.js';

/** What `fromClientsModuleAsync` adds to the module: the entries' names, and the providers of their options. */
export interface ClientsModuleAsyncParts {
  /** The clients' names, known now (they decide which injection tokens exist). */
  readonly names: string[];
  /** Tokens of each entry's options, in the order of `names`. */
  readonly tokens: string[];
  /** The providers of those tokens (and what they need: `useClass` classes, `extraProviders`). */
  readonly providers: Provider[];
  /** The entries' `imports`. */
  readonly imports: NonNullable<ModuleMetadata['imports']>;
}

const PREFIX = 'MeshClientModule.fromClientsModuleAsync';

/** @internal token of the options one async entry gives. */
const tokenOf = (name: string): string => `@datapunk/mesh-client:clients-module-entry:${name}`;

/** An entry's factory result, checked to be the options of a ClientsModule entry (its name is the entry's). */
async function checked(name: string, via: string, produced: unknown): Promise<ClientsModuleGrpcProvider> {
  const options: unknown = await produced;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new MeshConfigError(`${PREFIX}: entry '${name}' ${via} returned ${options === null ? 'null' : typeof options}, not the client's options`);
  }
  return options as ClientsModuleGrpcProvider;
}

/** The provider of one entry's options: from its `useFactory`, `useClass` or `useExisting`. */
function optionsProvider(entry: ClientsModuleGrpcAsyncEntry, name: string): Provider[] {
  const type: Type<ClientsModuleGrpcOptionsFactory> | undefined = entry.useClass ?? entry.useExisting;
  if (typeof entry.useFactory === 'function') {
    const factory = entry.useFactory as (...args: unknown[]) => unknown;
    return [
      { provide: tokenOf(name), useFactory: (...args: unknown[]) => checked(name, 'useFactory', factory(...args)), inject: entry.inject ?? [] },
    ];
  }
  if (typeof type !== 'function') throw new MeshConfigError(`${PREFIX}: entry '${name}' needs useFactory (with inject), useClass or useExisting`);
  const fromClass: FactoryProvider = {
    provide: tokenOf(name),
    useFactory: (made: Partial<ClientsModuleGrpcOptionsFactory>) => {
      if (typeof made.createClientOptions !== 'function') {
        throw new MeshConfigError(`${PREFIX}: entry '${name}': ${type.name} has no createClientOptions() method returning the client's options`);
      }
      return checked(name, `${type.name}.createClientOptions()`, made.createClientOptions());
    },
    inject: [type],
  };
  return entry.useClass ? [fromClass, { provide: entry.useClass, useClass: entry.useClass }] : [fromClass];
}

/**
 * The parts of a module built from `ClientsModule.registerAsync([...])` entries: each entry's
 * name (a string, unique), and a provider of its options made the way the entry says. Throws
 * MeshConfigError naming the entry.
 */
export function clientsModuleAsyncParts(entries: readonly ClientsModuleGrpcAsyncEntry[]): ClientsModuleAsyncParts {
  if (!Array.isArray(entries)) throw new MeshConfigError(`${PREFIX}: give the array ClientsModule.registerAsync() takes`);
  const names: string[] = [];
  const providers: Provider[] = [];
  const imports: NonNullable<ModuleMetadata['imports']> = [];
  entries.forEach((entry, i) => {
    const name = (entry as Partial<ClientsModuleGrpcAsyncEntry> | null)?.name;
    if (typeof name !== 'string') throw new MeshConfigError(`${PREFIX}: entry ${String(i)} needs a string name (mesh clients are injected by name)`);
    if (names.includes(name)) throw new MeshConfigError(`${PREFIX}: entry ${String(i)} has the name '${name}' of an earlier entry; names are unique`);
    names.push(name);
    providers.push(...optionsProvider(entry, name), ...(entry.extraProviders ?? []));
    imports.push(...(entry.imports ?? []));
  });
  return { names, tokens: names.map(tokenOf), providers, imports };
}
