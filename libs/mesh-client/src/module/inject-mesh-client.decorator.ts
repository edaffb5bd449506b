import { Inject } from '@nestjs/common';
import { getMeshClientToken } from './mesh-client.tokens.js';

/**
 * Injects the mesh client named `name`.
 *
 * @example
 * constructor(@InjectMeshClient('inventory') private readonly inventory: MeshClient) {}
 */
export const InjectMeshClient = (name: string): ParameterDecorator & PropertyDecorator => Inject(getMeshClientToken(name));
