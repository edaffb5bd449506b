import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import type { PeerCertificate } from 'node:tls';

/**
 * What a `tls.expectedServerIds` entry is, and how it is compared with what a server certificate
 * presents: an IP address is an IP SAN, an id with a scheme (a SPIFFE id) a URI SAN compared
 * exactly, anything else a DNS SAN compared without case and without the root's dot.
 */

/** One SAN entry as Node writes it: a kind, then the name, JSON-quoted when it holds a comma, a quote or a non-ASCII character. */
const SAN_ENTRY = /([A-Za-z][A-Za-z0-9 ]*):("(?:[^"\\]|\\.)*"|[^,]*)(?:,\s*|$)/y;

/** Names a peer certificate presents: SAN URIs, DNS names and IP addresses ('URI:…', 'DNS:…', 'IP Address:…'), quoted names unquoted. */
function presentedIds(cert: PeerCertificate): string[] {
  const ids: string[] = [];
  const text = cert.subjectaltname ?? '';
  let end = 0;
  SAN_ENTRY.lastIndex = 0;
  for (let entry = SAN_ENTRY.exec(text); entry !== null; entry = SAN_ENTRY.exec(text)) {
    end = SAN_ENTRY.lastIndex;
    const [, kind, raw] = entry;
    if (kind !== 'URI' && kind !== 'DNS' && kind !== 'IP Address') continue;
    let name = raw!;
    if (name.startsWith('"')) {
      try {
        name = JSON.parse(name) as string;
      } catch {
        continue; // not as Node writes it: matches nothing
      }
    }
    ids.push(`${kind}:${name}`);
  }
  // read to its end or not at all: text not as Node writes it presents nothing (fails closed)
  return end === text.length ? ids : [];
}

/** A DNS name as compared: without case and without the root's trailing dot. */
const dnsName = (name: string): string => name.toLowerCase().replace(/\.$/, '');

/** An IP address as compared: IPv6 in its one canonical form. */
function ipAddress(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  try {
    return new URL(`http://[${ip}]`).hostname.slice(1, -1);
  } catch {
    return ip.toLowerCase(); // a zone id (fe80::1%eth0): no certificate names one
  }
}

const SCHEME = /^([a-z][a-z0-9+.-]*):(.*)$/is;
/** A host name as a DNS SAN holds it: labels of letters, digits, '-' and '_', dot-separated, maybe the root's dot. */
const DNS_NAME = /^(?=.{1,253}\.?$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i;

/**
 * The SAN entry an expected id must be: an IP SAN for an IP address; a URI SAN for an id with a
 * scheme (a SPIFFE id), compared exactly; else a DNS SAN (`dnsName`). A name in another kind of
 * entry is not that identity: a CA that lets a workload choose its DNS names must not let it claim
 * a SPIFFE id.
 */
function sanOf(id: string): string {
  if (isIP(id)) return `IP:${ipAddress(id)}`;
  return SCHEME.test(id) ? `URI:${id}` : `DNS:${dnsName(id)}`;
}

function sanPresented(entry: string): string {
  if (entry.startsWith('DNS:')) return `DNS:${dnsName(entry.slice(4))}`;
  if (entry.startsWith('IP Address:')) return `IP:${ipAddress(entry.slice(11))}`;
  return entry;
}

/** Schemes of gRPC targets (a target pasted where the server's identity goes). */
const TARGET_SCHEMES = new Set(['dns', 'ipv4', 'ipv6', 'unix', 'unix-abstract', 'xds', 'vsock']);

/** The host of a `host:port` (brackets of an IPv6 address taken off). */
const hostOf = (hostPort: string): string => hostPort.slice(0, hostPort.lastIndexOf(':')).replace(/^\[(.*)\]$/s, '$1');

/** Why an id can never match a certificate, and what to write instead when that is clear. */
interface IdProblem {
  readonly why: string;
  readonly write?: string;
}

/** Why a URI id can never be a certificate's URI SAN, or undefined. */
function uriProblem(id: string, scheme: string, rest: string): IdProblem | undefined {
  if (TARGET_SCHEMES.has(scheme.toLowerCase()))
    return { why: "is a gRPC target: give the identity the server's certificate holds (its SPIFFE id or DNS name)" };
  if (/^\d+\/?$/.test(rest)) return { why: 'looks like host:port: a certificate names a host, not a port', write: scheme };
  if (rest === '') return { why: "ends in ':'", write: scheme };
  // a SAN URI is ASCII (IA5String), and no URI holds these
  if (!/^[\x21-\x7e]+$/.test(id) || /['"\\]/.test(id)) return { why: 'holds characters a SAN URI cannot (non-ASCII, a quote or a backslash)' };
  if (!URL.canParse(id)) return { why: 'has a scheme but is not a valid URI (a SAN URI, e.g. spiffe://trust-domain/ns/x/sa/y)' };
  const spiffe = /^spiffe:\/\/([^/]*)(.*)$/is.exec(id);
  if (spiffe && (scheme !== 'spiffe' || spiffe[1] !== spiffe[1]!.toLowerCase())) {
    return { why: 'is a SPIFFE id, whose scheme and trust domain are lower case', write: `spiffe://${spiffe[1]!.toLowerCase()}${spiffe[2]!}` };
  }
  return undefined;
}

function problemOf(id: string): IdProblem | undefined {
  const zone = id.indexOf('%');
  if (zone >= 0 && isIP(id) === 6) return { why: `names a zone (${id.slice(zone)}): a certificate's IP address has none`, write: id.slice(0, zone) };
  if (isIP(id)) return undefined;
  const bracketed = /^\[(.*)\]$/s.exec(id);
  if (bracketed && isIP(bracketed[1]!) === 6) return { why: 'is an IPv6 address in brackets', write: bracketed[1]! };
  if (/\s/.test(id)) return { why: 'holds white space', write: id.trim() };
  if (/^\[.*\]:\d+$/s.test(id) || /^[^:]+:\d+$/.test(id))
    return { why: 'looks like host:port: a certificate names a host, not a port', write: hostOf(id) };
  const scheme = SCHEME.exec(id);
  if (scheme) return uriProblem(id, scheme[1]!, scheme[2]!);
  const ascii = domainToASCII(id);
  if (!/^[\x21-\x7e]+$/.test(id) && ascii !== '' && ascii !== id)
    return { why: 'is an internationalized name: certificates hold its ASCII form', write: ascii };
  // a wildcard is compared as written: it matches a wildcard certificate, not the names it covers
  if (!DNS_NAME.test(id.replace(/^\*\./, ''))) return { why: 'is neither a SAN URI (scheme://…), a DNS name nor an IP address' };
  if (/(^|\.)\d+\.?$/.test(id)) return { why: 'ends in a number but is no IP address (a typo?)' };
  return undefined;
}

/**
 * Why `id` can never match a certificate, with what to write instead when that would itself be
 * taken (and is short); undefined for a usable id. Checked at start: such an entry would otherwise
 * refuse every handshake with a mismatch.
 */
export function serverIdProblem(id: string): string | undefined {
  const problem = problemOf(id);
  if (!problem) return undefined;
  // the advice is itself checked (a host:port whose host is Unicode: its ASCII form), and dropped when nothing simple would do
  let write = problem.write;
  for (let step = 0; step < 3 && write !== undefined; step++) {
    const again = problemOf(write);
    if (!again) break;
    write = again.write;
  }
  const usable = write !== undefined && write !== '' && write.length <= 100 && problemOf(write) === undefined;
  return usable ? `${problem.why} (write '${write}')` : problem.why;
}

/**
 * A grpc-js `checkServerIdentity` that requires the server certificate to present one of
 * `expected` (SAN URI such as a SPIFFE id, DNS name or IP address). It replaces the host name
 * check: a mesh identity names a workload, not an address.
 */
export function expectServerIdentity(expected: readonly string[]): (host: string, cert: PeerCertificate) => Error | undefined {
  const wanted = new Set(expected.map(sanOf));
  return (_host, cert) => {
    const presented = presentedIds(cert);
    const ok = presented.some((entry) => wanted.has(sanPresented(entry)));
    return ok
      ? undefined
      : new Error(
          `server identity mismatch: expected one of [${expected.join(', ')}], the server presented [${presented.join(', ') || 'no SAN URI, DNS name or IP address'}]`,
        );
  };
}
