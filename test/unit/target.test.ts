import { describe, expect, it } from 'vitest';
import { namesAnIpAddress, targetProblem } from '../../libs/mesh-client/src/config/target.js';

describe('targetProblem', () => {
  it.each([
    'localhost:50051',
    '127.0.0.1:1',
    '[::1]:443',
    'inventory.default.svc.cluster.local:8080',
    'dns:///inventory:50051',
    'dns://8.8.8.8/inventory:50051',
    'dns://10.0.0.10:53/inventory:50051',
    'dns://[::1]:53/inventory:50051',
    'dns://[::1]/inventory:50051',
    'dns:inventory:50051',
    'ipv4:127.0.0.1:5001,127.0.0.1:5002',
    'ipv6:[::1]:5001',
    'unix:/tmp/sock',
    'unix:///tmp/sock',
    'xds:///inventory',
  ])('accepts %s', (target) => {
    expect(targetProblem(target)).toBeUndefined();
  });

  it.each([
    'localhost',
    'localhost:0',
    'localhost:65536',
    'http://x:80',
    'a b:1',
    'dns:///nohost',
    'ipv4:',
    'ipv4:127.0.0.1',
    'ipv4:localhost:1',
    'xds://x',
    'unix:',
    ':80',
  ])('refuses %s', (target) => {
    expect(targetProblem(target)).toMatch(/must be 'host:port'/);
  });

  it.each(['dns://kube-dns/inventory:50051', 'dns://10.0.0.10:0/inventory:50051', 'dns://[nothost]:53/inventory:50051'])(
    'refuses a DNS server Node cannot take (it threw a TypeError when the channel was made): %s',
    (target) => {
      expect(targetProblem(target)).toMatch(/must name its DNS server by IP address \(and a port 1..65535\), not 'dns:\/\/.*\/'/);
    },
  );
});

describe('namesAnIpAddress: targets whose host grpc-js would send as the TLS server name', () => {
  it.each([
    ['127.0.0.1:50051', true],
    ['[::1]:50051', true],
    ['ipv4:10.0.0.1:50051,10.0.0.2:50051', true],
    ['ipv6:[::1]:50051', true],
    ['dns:///10.0.0.1:50051', true],
    ['localhost:50051', false],
    ['dns:///inventory.default.svc:50051', false],
    ['unix:///tmp/socket', false],
    ['xds:///inventory', false],
  ])('%s: %s', (target, ip) => {
    expect(namesAnIpAddress(target)).toBe(ip);
  });
});
