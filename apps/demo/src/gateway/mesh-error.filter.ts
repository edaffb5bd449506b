import { Catch, HttpStatus, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { MeshClientError, type MeshErrorCategory } from '@datapunk/mesh-client';
import type { Response } from 'express';

const HTTP_STATUS: Record<MeshErrorCategory, number> = {
  unavailable: HttpStatus.SERVICE_UNAVAILABLE,
  timeout: HttpStatus.GATEWAY_TIMEOUT,
  'circuit-open': HttpStatus.SERVICE_UNAVAILABLE,
  cancelled: 499,
  unauthenticated: HttpStatus.UNAUTHORIZED,
  'permission-denied': HttpStatus.FORBIDDEN,
  'invalid-request': HttpStatus.BAD_REQUEST,
  'not-found': HttpStatus.NOT_FOUND,
  conflict: HttpStatus.CONFLICT,
  'resource-exhausted': HttpStatus.TOO_MANY_REQUESTS,
  unimplemented: HttpStatus.NOT_IMPLEMENTED,
  internal: HttpStatus.BAD_GATEWAY,
  tls: HttpStatus.BAD_GATEWAY,
  unknown: HttpStatus.BAD_GATEWAY,
};

/** Turns a failed mesh call into an HTTP answer by its category. */
@Catch(MeshClientError)
export class MeshErrorFilter implements ExceptionFilter {
  catch(error: MeshClientError, host: ArgumentsHost): void {
    host
      .switchToHttp()
      .getResponse<Response>()
      .status(HTTP_STATUS[error.category])
      .json({ category: error.category, code: error.codeName, details: error.details, retryable: error.retryable });
  }
}
