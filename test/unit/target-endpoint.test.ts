import { describe, expect, it } from 'vitest';
import { endpointOf } from '../../libs/mesh-client/src/config/target.js';

describe('server.address and server.port of a target (OTel stable semconv)', () => {
  it.each([
    ['127.0.0.1:50051', { address: '127.0.0.1', port: 50051 }],
    ['dns:///inventory.shop.svc:8443', { address: 'inventory.shop.svc', port: 8443 }],
    ['[::1]:9000', { address: '[::1]', port: 9000 }],
    ['xds:///inventory', { address: 'inventory', port: undefined }],
    ['xds:///inventory.shop.svc.cluster.local:50051', { address: 'inventory.shop.svc.cluster.local', port: 50051 }],
    ['ipv4:10.0.0.1:1,10.0.0.2:2', { address: 'ipv4:10.0.0.1:1,10.0.0.2:2', port: undefined }],
  ])('%s', (target, expected) => {
    expect(endpointOf(target)).toEqual(expected);
  });
});
