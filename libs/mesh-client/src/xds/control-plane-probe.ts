import { connect } from 'node:net';
import { endpointOf } from '../config/target.js';

/** Whether the xDS control plane accepts connections right now. */
export type ControlPlaneState = 'reachable' | 'unreachable';

/** Host and port of a bootstrap `server_uri` ('host:port', 'dns:///host:port', '[v6]:port'), or a unix path. */
export function controlPlaneAddress(serverUri: string): { host: string; port: number } | { path: string } | undefined {
  if (serverUri.startsWith('unix:')) return { path: serverUri.replace(/^unix:(\/\/)?/, '') };
  const { address, port } = endpointOf(serverUri);
  return port === undefined ? undefined : { host: address.replace(/^\[(.*)\]$/, '$1'), port };
}

/**
 * Opens and closes one TCP connection to the control plane, within `timeoutMs`. grpc-js-xds keeps
 * serving calls from its cache while the control plane is away; this tells a health check so.
 */
export function probeControlPlane(serverUri: string, timeoutMs: number): Promise<ControlPlaneState> {
  const address = controlPlaneAddress(serverUri);
  if (!address) return Promise.resolve('unreachable');
  return new Promise((resolve) => {
    const socket = connect(address);
    const done = (state: ControlPlaneState): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(state);
    };
    const timer = setTimeout(() => done('unreachable'), timeoutMs);
    socket.once('connect', () => done('reachable'));
    socket.once('error', () => done('unreachable'));
  });
}
