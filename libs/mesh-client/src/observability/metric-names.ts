/** Names of every series, as API.md fixes them (nice-grpc-prometheus / go-grpc-prometheus style). */
export const METRIC = Object.freeze({
  started: 'grpc_client_started_total',
  handled: 'grpc_client_handled_total',
  msgSent: 'grpc_client_msg_sent_total',
  msgReceived: 'grpc_client_msg_received_total',
  handling: 'grpc_client_handling_seconds',
  retries: 'mesh_client_retries_total',
  circuitState: 'mesh_client_circuit_state',
  circuitRejected: 'mesh_client_circuit_rejected_total',
  inflight: 'mesh_client_inflight',
  concurrencyLimit: 'mesh_client_concurrency_limit',
  limited: 'mesh_client_limited_total',
  hedges: 'mesh_client_hedges_total',
  budgetExhausted: 'mesh_client_retry_budget_exhausted',
});

/** Labels of the per-call series. */
export const CALL_LABELS = ['grpc_type', 'grpc_service', 'grpc_method', 'mesh_client'] as const;

/** Histogram buckets for RPC latency, 1 ms .. 10 s. */
export const HANDLING_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** `grpc_type` label values by call kind (go-grpc-prometheus). */
export const GRPC_TYPE = Object.freeze({
  unary: 'unary',
  'server-stream': 'server_stream',
  'client-stream': 'client_stream',
  bidi: 'bidi_stream',
} as const);

/** `mesh_client_circuit_state` values. */
export const CIRCUIT_STATE_VALUE = Object.freeze({ closed: 0, 'half-open': 1, open: 2 } as const);
