import {
  Controller,
  ForbiddenException,
  Get,
  Injectable,
  Module,
  UseGuards,
  type CanActivate,
  type DynamicModule,
  type ExecutionContext,
  type INestApplication,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Transport } from '@nestjs/microservices';
import { ClsModule } from 'nestjs-cls';
import { lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InjectMeshClient, MeshClientModule, MeshContext, isMeshConfigError, type MeshClient } from '@datapunk/mesh-client';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { ECHO_PROTO } from '../support/protos.js';
import { echoClient, moduleStartError } from '../support/test-app.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
/** What any caller on the internet may send a gateway. */
const FROM_ANYONE = {
  authorization: 'Bearer end-user-token',
  'x-tenant-id': 'someone-elses-tenant',
  'x-request-id': 'req-from-outside',
  traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01`,
  'grpc-timeout': '2S',
};

/** Verifies the caller's token (here: a fixed table) and sets what it proves with MeshContext.set(). */
@Injectable()
class VerifiedCallerGuard implements CanActivate {
  private readonly tokens = new Map([['Bearer alice-token', { tenant: 'acme', serviceToken: 'token-for-alice' }]]);

  constructor(private readonly context: MeshContext) {}

  canActivate(execution: ExecutionContext): boolean {
    const header = execution.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>().headers.authorization;
    const verified = this.tokens.get(header ?? '');
    if (!verified) throw new ForbiddenException();
    this.context.set({ token: verified.serviceToken, tenant: verified.tenant });
    return true;
  }
}

@Controller()
class GatewayController {
  constructor(@InjectMeshClient('echo') private readonly echo: MeshClient) {}

  @Get('open')
  open(): Promise<unknown> {
    return lastValueFrom(this.echo.unary('Unary', {}));
  }

  @Get('verified')
  @UseGuards(VerifiedCallerGuard)
  verified(): Promise<unknown> {
    return lastValueFrom(this.echo.unary('Unary', {}));
  }
}

describe('at an internet-facing gateway: which incoming headers fill the context', () => {
  let server: EchoServer;
  const apps: INestApplication[] = [];

  beforeAll(async () => {
    server = await startEchoServer();
  });
  afterAll(async () => {
    await Promise.all(apps.map((a) => a.close()));
    await server.stop();
  });

  /**
   * A gateway app with `mesh` (whose client is named 'echo'); the base URL. It mounts nestjs-cls's
   * middleware, which opens each request's scope before guards run (so a guard may set()).
   */
  async function gateway(mesh: DynamicModule): Promise<string> {
    @Module({
      imports: [ClsModule.forRoot({ global: true, middleware: { mount: true } }), mesh],
      controllers: [GatewayController],
      providers: [VerifiedCallerGuard],
    })
    class GatewayModule {}
    const app = await NestFactory.create(GatewayModule, { logger: false });
    apps.push(app);
    await app.listen(0, '127.0.0.1');
    return app.getUrl();
  }

  /** GET `path` with `headers`; what the backend saw: a metadata reader and the time the call had left. */
  async function seenBehind(url: string, path: string, headers: Record<string, string>) {
    const response = await fetch(`${url}${path}`, { headers });
    expect(response.status).toBe(200);
    const md = server.metadataSeen.at(-1)!;
    const leftMs = new Date(server.deadlines.at(-1)!).getTime() - server.arrivedAt.at(-1)!;
    return { seen: (key: string) => md.get(key).map(String), leftMs };
  }

  const fromClientsModuleEntry = () => ({
    name: 'echo',
    transport: Transport.GRPC,
    options: { url: server.target, package: 'mesh.test', protoPath: ECHO_PROTO },
  });

  it("forRoot by default: the trace context, the request id and the deadline cross; the end user's token and the caller's tenant do not", async () => {
    const url = await gateway(MeshClientModule.forRoot({ clients: [echoClient(server.target)] }));
    const { seen, leftMs } = await seenBehind(url, '/open', FROM_ANYONE);
    expect(seen('x-request-id')).toEqual(['req-from-outside']);
    expect(seen('traceparent')[0]).toContain(TRACE_ID);
    expect(leftMs).toBeLessThanOrEqual(2000);
    expect(seen('authorization')).toEqual([]);
    expect(seen('x-tenant-id')).toEqual([]);
  });

  it('a guard that verified the caller sets the token and tenant with MeshContext.set(): those travel, not the headers', async () => {
    const url = await gateway(MeshClientModule.forRoot({ clients: [echoClient(server.target)] }));
    const { seen } = await seenBehind(url, '/verified', { ...FROM_ANYONE, authorization: 'Bearer alice-token' });
    expect(seen('authorization')).toEqual(['Bearer token-for-alice']);
    expect(seen('x-tenant-id')).toEqual(['acme']);
    expect(seen('x-request-id')).toEqual(['req-from-outside']);
  });

  it("opting in (trustIncoming: [..., 'token', 'tenant']) forwards them as sent: for services behind a gateway that checked them", async () => {
    const trustIncoming = ['traceparent', 'requestId', 'deadline', 'token', 'tenant'] as const;
    const url = await gateway(MeshClientModule.forRoot({ trustIncoming: [...trustIncoming], clients: [echoClient(server.target)] }));
    const { seen } = await seenBehind(url, '/open', FROM_ANYONE);
    expect(seen('authorization')).toEqual(['Bearer end-user-token']);
    expect(seen('x-tenant-id')).toEqual(['someone-elses-tenant']);
  });

  it('fromClientsModule forwards nothing of the incoming request (as ClientGrpc) unless trustIncoming says what', async () => {
    const plain = await gateway(MeshClientModule.fromClientsModule([fromClientsModuleEntry()]));
    const before = await seenBehind(plain, '/open', FROM_ANYONE);
    for (const key of ['authorization', 'x-tenant-id', 'x-request-id', 'traceparent']) expect(before.seen(key)).toEqual([]);
    expect(before.leftMs).toBeGreaterThan(20_000); // the client's own 30 s, not the caller's 2 s
    const configured = await gateway(MeshClientModule.fromClientsModule([fromClientsModuleEntry()], { trustIncoming: ['requestId', 'deadline'] }));
    const after = await seenBehind(configured, '/open', FROM_ANYONE);
    expect(after.seen('x-request-id')).toEqual(['req-from-outside']);
    expect(after.leftMs).toBeLessThanOrEqual(2000);
    expect(after.seen('authorization')).toEqual([]);
  });

  it('trustIncoming names only parts of the context, each once', async () => {
    const typo = await moduleStartError({ trustIncoming: ['traceparent', 'tennant'], clients: [echoClient(server.target)] });
    expect(isMeshConfigError(typo) && typo.message).toMatch(
      /options\.trustIncoming\[1\] must be one of 'traceparent', 'requestId', 'deadline', 'token', 'tenant'; did you mean 'tenant'\?, got 'tennant'/,
    );
    const twice = await moduleStartError({ trustIncoming: ['token', 'token'], clients: [echoClient(server.target)] });
    expect(isMeshConfigError(twice) && twice.message).toMatch(/trustIncoming\[1\] is listed twice/);
  });
});
