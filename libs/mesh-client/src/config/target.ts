import { isIP } from 'node:net';
const HOST = String.raw`(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)`;
const IPV4 = String.raw`(?:\d{1,3}(?:\.\d{1,3}){3})`;
const IPV6 = String.raw`\[[0-9A-Fa-f:.]+(?:%[\w.-]+)?\]`;
const PORT = String.raw`(\d{1,5})`;
const HOST_PORT = new RegExp(`^(?:${HOST}|${IPV4}|${IPV6}):${PORT}$`);
const V4_ADDR = new RegExp(`^${IPV4}:${PORT}$`);
const V6_ADDR = new RegExp(`^${IPV6}:${PORT}$`);
const XDS = /^xds:\/\/\/[A-Za-z0-9._~-]+(?::\d{1,5})?$/;

function portOk(port: string | undefined): boolean {
  const n = Number(port);
  return Number.isInteger(n) && n >= 1 && n <= 65_535;
}

/** A DNS server as `dns://authority/` names it (Node's resolver takes addresses only): an IP address, a port or not. */
function dnsServerOk(authority: string): boolean {
  if (isIP(authority) !== 0) return true;
  const v6 = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(authority);
  if (v6) return isIP(v6[1]!) === 6 && (v6[2] === undefined || portOk(v6[2]));
  const v4 = /^([\d.]+):(\d{1,5})$/.exec(authority);
  return v4 !== null && isIP(v4[1]!) === 4 && portOk(v4[2]);
}

function hostPort(value: string, pattern: RegExp = HOST_PORT): boolean {
  const m = pattern.exec(value);
  return m !== null && portOk(m[1]);
}

function addressList(list: string, pattern: RegExp): boolean {
  return list.length > 0 && list.split(',').every((a) => hostPort(a, pattern));
}

/**
 * Why a gRPC target string is not usable, or undefined when it is. Accepted forms:
 * `host:port`, `dns:///host:port`, `dns://authority/host:port`, `dns:host:port`,
 * `ipv4:a:p[,b:p…]`, `ipv6:[a]:p[,…]`, `unix:path`, `unix:///abs/path`, `xds:///name`.
 * Ports are required (1..65535): an implicit 443 is a classic source of mysterious timeouts.
 */
export function targetProblem(target: string): string | undefined {
  const expected =
    "must be 'host:port', 'dns:///host:port', 'ipv4:addr:port[,addr:port]', 'ipv6:[addr]:port', 'unix:path' or 'xds:///name' with a port 1..65535";
  if (/\s/.test(target)) return `${expected} (no spaces)`;
  if (target.startsWith('dns:')) {
    const authority = /^dns:\/\/([^/]+)\//.exec(target)?.[1];
    if (authority !== undefined && !dnsServerOk(authority))
      return `must name its DNS server by IP address (and a port 1..65535), not 'dns://${authority.slice(0, 64)}/', e.g. 'dns://10.0.0.10:53/inventory:50051'`;
    const rest = target.replace(/^dns:(?:\/\/[^/]*\/)?/, '');
    return hostPort(rest) ? undefined : expected;
  }
  if (target.startsWith('ipv4:')) return addressList(target.slice(5), V4_ADDR) ? undefined : expected;
  if (target.startsWith('ipv6:')) return addressList(target.slice(5), V6_ADDR) ? undefined : expected;
  if (target.startsWith('unix:')) return target.length > 5 ? undefined : expected;
  if (target.startsWith('xds:')) return XDS.test(target) ? undefined : expected;
  return hostPort(target) ? undefined : expected;
}

/** True for an `xds:///name` target. */
export const isXdsTarget = (target: string): boolean => target.startsWith('xds:');

/** Where a target points, for server.address / server.port and for probing a control plane. */
export interface ServerEndpoint {
  /** Host name or address as written (an IPv6 address keeps its brackets). */
  readonly address: string;
  readonly port: number | undefined;
}

/**
 * Host and port of a simple target ('host:port', 'dns:///host:port', '[v6]:port'); an xds target
 * gives its name; anything else (address lists, unix sockets) comes back whole, without a port.
 */
export function endpointOf(target: string): ServerEndpoint {
  const bare = target.replace(/^(?:dns|xds):(\/\/[^/]*\/)?/, '');
  const m = /^(\[[^\]]+\]|[^:,]+):(\d+)$/.exec(bare);
  if (m) return { address: m[1]!, port: Number(m[2]) };
  return { address: isXdsTarget(target) ? bare : target, port: undefined };
}

/** Whether a target names its server by IP address (what grpc-js then sends as the TLS server name). */
export function namesAnIpAddress(target: string): boolean {
  const first = target.replace(/^ipv[46]:/, '').split(',')[0]!;
  return isIP(endpointOf(first).address.replace(/^\[(.*)\]$/, '$1')) !== 0;
}
