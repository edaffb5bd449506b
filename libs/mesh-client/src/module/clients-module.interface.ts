import type { InjectionToken, ModuleMetadata, OptionalFactoryDependency, Provider, Type } from '@nestjs/common';
import type { MeshTlsOptions } from '../config/mesh-client-options.interface.js';

/**
 * The gRPC client options of `ClientsModule.register` (`GrpcOptions['options']` of
 * `@nestjs/microservices`, which the library does not depend on), each mapped or refused by name.
 */
export interface ClientsModuleGrpcOptions {
  /** The target; default 'localhost:5000'. */
  url?: string;
  /** The proto package (one: a mesh client is one service). */
  package?: string | string[];
  /** The `.proto` files: the client's `proto.path`. */
  protoPath?: string | string[];
  /** A package definition loaded elsewhere, instead of `protoPath`. */
  packageDefinition?: unknown;
  /** The service, when the package has several. */
  service?: string;
  /** Options of `@grpc/proto-loader`. */
  loader?: object;
  /** Insecure credentials become `insecure: true`; secure ones are refused (give `tls`). */
  credentials?: unknown;
  /** Must equal `maxReceiveMessageLength`: both become `maxMessageBytes`. */
  maxSendMessageLength?: number;
  /** Must equal `maxSendMessageLength`. */
  maxReceiveMessageLength?: number;
  /** Passed to grpc-js as the channel option `grpc.max_metadata_size`. */
  maxMetadataSize?: number;
  /** `keepaliveTimeMs` and `keepaliveTimeoutMs` become the client's `keepalive`; its other fields pass to grpc-js as channel options. */
  keepalive?: object;
  /** grpc-js channel options, passed through (those the client sets itself are refused). */
  channelOptions?: object;
  /** TLS of this client, as `tls` beside `options` (give it in one place). */
  tls?: MeshTlsOptions;
  /** Refused: mesh clients load protos with `@grpc/proto-loader`. */
  protoLoader?: unknown;
  /** Refused: a server option. */
  gracefulShutdown?: unknown;
  /** Refused: a server hook. */
  onLoadPackageDefinition?: unknown;
}

/** `Transport` of @nestjs/microservices other than GRPC (4): accepted by the types, refused at start. */
type OtherTransport = 0 | 1 | 2 | 3 | 5 | 6;

/**
 * What an entry of `ClientsModule.register([...])` holds besides its name, for `fromClientsModule`:
 * Nest's `ClientOptions` (so `{ name, ...grpcClientOptions }` compiles as it does for ClientsModule;
 * a transport other than `Transport.GRPC` fails start), plus the client's `tls`.
 */
export type ClientsModuleGrpcProvider = {
  /**
   * TLS of this client (`{ ca, cert, key }`, mutual with cert + key), checked at start and
   * reloadable as `forRoot`'s `tls`. Without it (here, in `options.tls` or in `defaults.tls`)
   * the client is plaintext, as ClientGrpc without credentials.
   */
  tls?: MeshTlsOptions;
} & ({ transport?: 4; options?: ClientsModuleGrpcOptions } | { transport?: OtherTransport; options?: object });

/** One entry of `ClientsModule.register([...])`: `{ name, transport: Transport.GRPC, options, tls? }`. */
export type ClientsModuleGrpcEntry = ClientsModuleGrpcProvider & {
  /** Injection name (`@Inject(name)`); a string, since mesh clients are injected by name. */
  name: string | symbol;
};

/** A class whose `createClientOptions()` returns an entry's options, as for `ClientsModule.registerAsync`. */
export interface ClientsModuleGrpcOptionsFactory {
  /** The entry's options. */
  createClientOptions(): ClientsModuleGrpcProvider | Promise<ClientsModuleGrpcProvider>;
}

/**
 * One entry of `ClientsModule.registerAsync([...])`: its name, known now, and its options from
 * `useFactory` (with `inject`), `useClass` or `useExisting` (a `ClientsModuleGrpcOptionsFactory`),
 * with the `imports` (and `extraProviders`) they need.
 */
export interface ClientsModuleGrpcAsyncEntry extends Pick<ModuleMetadata, 'imports'> {
  /** Injection name (`@Inject(name)`), known before the options are. */
  name: string | symbol;
  /** Returns the entry's options (as a `fromClientsModule` entry holds them, without `name`). */
  useFactory?: (...args: never[]) => ClientsModuleGrpcProvider | Promise<ClientsModuleGrpcProvider>;
  /** What `useFactory` is given. */
  inject?: (InjectionToken | OptionalFactoryDependency)[];
  /** A class Nest builds, whose `createClientOptions()` returns the options. */
  useClass?: Type<ClientsModuleGrpcOptionsFactory>;
  /** Such a class, provided by an imported module. */
  useExisting?: Type<ClientsModuleGrpcOptionsFactory>;
  /** Providers the factory injects, registered beside it. */
  extraProviders?: Provider[];
}
