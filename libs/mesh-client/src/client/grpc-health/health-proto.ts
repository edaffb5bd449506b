import type { ServiceDefinition } from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';

/** grpc.health.v1 as a protobufjs JSON descriptor (the standard health.proto, inlined). */
const HEALTH_JSON = {
  nested: {
    grpc: {
      nested: {
        health: {
          nested: {
            v1: {
              nested: {
                HealthCheckRequest: { fields: { service: { type: 'string', id: 1 } } },
                HealthCheckResponse: {
                  fields: { status: { type: 'ServingStatus', id: 1 } },
                  nested: { ServingStatus: { values: { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } } },
                },
                Health: {
                  methods: {
                    Check: { requestType: 'HealthCheckRequest', responseType: 'HealthCheckResponse' },
                    Watch: { requestType: 'HealthCheckRequest', responseType: 'HealthCheckResponse', responseStream: true },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};

/** The health client reads the serving status by name. */
const HEALTH_LOADER_OPTIONS = Object.freeze({ enums: String, defaults: true });

let health: ServiceDefinition | undefined;

/** The grpc.health.v1.Health service definition (built once, on first use). */
export function healthService(): ServiceDefinition {
  health ??= fromJSON(HEALTH_JSON as unknown as Parameters<typeof fromJSON>[0], HEALTH_LOADER_OPTIONS)['grpc.health.v1.Health'] as ServiceDefinition;
  return health;
}
