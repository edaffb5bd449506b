/** Which RPC semantic conventions spans carry (OTEL_SEMCONV_STABILITY_OPT_IN). */
export interface SemconvMode {
  /** rpc.system, rpc.service, rpc.method, rpc.grpc.status_code (what backends and instrumentation-grpc use today). */
  readonly old: boolean;
  /** The v1.39+ stable ones: rpc.system.name, fully qualified rpc.method, rpc.response.status_code, server.*, error.type. */
  readonly stable: boolean;
}

/** Reads OTEL_SEMCONV_STABILITY_OPT_IN: 'rpc' = stable only, 'rpc/dup' = both, else old only. */
export function semconvMode(env: string | undefined): SemconvMode {
  const opts = (env ?? '').split(',').map((s) => s.trim());
  if (opts.includes('rpc/dup')) return { old: true, stable: true };
  if (opts.includes('rpc')) return { old: false, stable: true };
  return { old: true, stable: false };
}
