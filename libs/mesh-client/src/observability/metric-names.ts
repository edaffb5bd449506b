/** Names of every series (nice-grpc-prometheus / go-grpc-prometheus style); docs/reference/metrics.md lists them. */
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

/**
 * Labels of the per-call series. Every label of the library's series (docs/reference/metrics.md):
 *
 * - `grpc_type`: the call kind (`GRPC_TYPE`).
 * - `grpc_service`: the fully qualified proto service, e.g. `demo.inventory.Inventory`.
 * - `grpc_method`: the RPC name, e.g. `GetItem`.
 * - `mesh_client`: the client's name (never an endpoint or address).
 * - `grpc_code`: a status name, e.g. `UNAVAILABLE`; a code outside 0..16 counts as `UNKNOWN`.
 * - `scope`: the breaker's scope: `*` for a client-wide breaker, else the RPC name (`breaker.scope: 'method'`).
 * - `reason`: why the concurrency limit refused a call (`LimitedReason`).
 */
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
