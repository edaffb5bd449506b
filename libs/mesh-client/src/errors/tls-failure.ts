const REASONS: readonly [RegExp, string][] = [
  [/server identity mismatch/i, 'the server presented the wrong identity'],
  [/certificate has expired/i, 'the server certificate has expired'],
  [/certificate is not yet valid/i, 'the server certificate is not valid yet'],
  [
    /self[- ]signed certificate|unable to (get|verify) (local )?issuer|unable to verify the first certificate|certificate signature failure/i,
    'the server certificate is not signed by a CA in tls.ca',
  ],
  [
    /ERR_TLS_CERT_ALTNAME_INVALID|does not match certificate's altnames/i,
    'the server certificate does not name the host (set tls.serverName or expectedServerIds)',
  ],
  [
    /unsuitable certificate purpose/i,
    'the server certificate is not one for a TLS server (its key usage or extended key usage does not allow serverAuth: a client or CA certificate?)',
  ],
  [
    /invalid CA certificate|path length constraint exceeded/i,
    "the server's certificate chain is not valid (an intermediate that is no CA, or a chain too long)",
  ],
  [/alert certificate required/i, 'the server requires a client certificate (set tls.cert and tls.key)'],
  [
    /alert (bad certificate|unknown ca|certificate (expired|unknown|revoked|unsupported))/i,
    'the server refused the client certificate (expired, or not signed by a CA it trusts)',
  ],
  [/wrong version number|packet length too long|unknown protocol|http request/i, 'the server does not speak TLS (a plaintext server?)'],
  [/alert handshake failure|ssl routines|tls handshake|secure tls connection/i, 'the TLS handshake failed'],
];

/**
 * Which TLS failure a status detail describes, or undefined when it is none. grpc-js reports every
 * handshake failure as UNAVAILABLE "No connection established"; this tells them apart.
 */
export function tlsFailureReason(details: string): string | undefined {
  for (const [pattern, reason] of REASONS) if (pattern.test(details)) return reason;
  return undefined;
}
