const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/** Parses a gRPC `grpc-timeout` value ('1S', '250m', '100000u') into milliseconds, or undefined. */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  const m = value === undefined ? null : /^(\d{1,8})([HMSmun])$/.exec(value.trim());
  return m ? Number(m[1]) * UNIT_MS[m[2]!]! : undefined;
}
