/** The contenders' names: the keys of the results, the rows of the tables and what the verdicts look up. */
export const NAMES = {
  raw: 'raw grpc-js',
  control: 'raw grpc-js (A/A control)',
  wire: 'raw grpc-js + deadline + context metadata',
  all: 'mesh, every feature on',
  plugin: 'mesh, every feature on + no-op plugin',
  off: 'mesh, everything off',
  nest: 'Nest ClientGrpcProxy',
} as const;
