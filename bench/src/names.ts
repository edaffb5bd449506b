/** The contenders' names: the keys of the results, the rows of the tables and what the verdicts look up. */
export const NAMES = {
  raw: 'raw grpc-js',
  control: 'raw grpc-js (A/A control)',
  wire: 'raw grpc-js + deadline + context metadata',
  wireScoped: 'raw grpc-js + deadline + context metadata, in a nestjs-cls scope',
  deadline: 'raw grpc-js + deadline only',
  all: 'mesh, every feature on',
  request: 'mesh, every feature on, request() (Promise)',
  plugin: 'mesh, every feature on + no-op plugin',
  off: 'mesh, everything off',
  nest: 'Nest ClientGrpcProxy',
  nice: 'nice-grpc (retry+deadline)',
} as const;

/** Comparisons of two contenders in the same rounds (the ratio of their ratios to raw, round by round). */
export const PAIRS = {
  own: { of: NAMES.all, to: NAMES.wireScoped, key: 'cpuUsPerCall' },
  ownP50: { of: NAMES.all, to: NAMES.wireScoped, key: 'p50Us' },
  off: { of: NAMES.off, to: NAMES.deadline, key: 'cpuUsPerCall' },
  niceCpu: { of: NAMES.all, to: NAMES.nice, key: 'cpuUsPerCall' },
  niceThroughput: { of: NAMES.all, to: NAMES.nice, key: 'callsPerSec' },
  promise: { of: NAMES.request, to: NAMES.all, key: 'cpuUsPerCall' },
} as const;
