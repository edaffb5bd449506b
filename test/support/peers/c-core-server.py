"""A gRPC C-core peer for the tests (Debian's python3-grpcio): serves mesh.test.Echo/Unary.

Usage: c-core-server.py <ca.pem|-> <cert.pem|-> <key.pem|-> [require-client-cert]
Prints the bound port on stdout, then serves until stdin closes. Answers every Unary call with an
empty EchoReply; `x-test-status: <code>` fails it with that status; `x-test-delay-ms: <ms>` waits.
"""
import sys
import time
from concurrent import futures

import grpc


def unary(request, context):
    md = dict(context.invocation_metadata())
    delay = int(md.get('x-test-delay-ms', '0'))
    if delay:
        time.sleep(delay / 1000)
    code = md.get('x-test-status')
    if code is not None:
        context.abort(next(c for c in grpc.StatusCode if c.value[0] == int(code)), 'steered failure')
    return b''


def main():
    ca, cert, key = sys.argv[1:4]
    require = len(sys.argv) > 4 and sys.argv[4] == 'require-client-cert'
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    handler = grpc.method_handlers_generic_handler('mesh.test.Echo', {'Unary': grpc.unary_unary_rpc_method_handler(unary)})
    server.add_generic_rpc_handlers((handler,))
    if cert == '-':
        port = server.add_insecure_port('127.0.0.1:0')
    else:
        read = lambda path: open(path, 'rb').read()
        creds = grpc.ssl_server_credentials([(read(key), read(cert))], root_certificates=read(ca) if ca != '-' else None, require_client_auth=require)
        port = server.add_secure_port('127.0.0.1:0', creds)
    server.start()
    print(port, flush=True)
    sys.stdin.read()
    server.stop(0)


if __name__ == '__main__':
    main()
