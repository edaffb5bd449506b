/**
 * @datapunk/mesh-client/testing: fakes of the services an application calls, for its tests (README
 * "Testing your service", docs/guide/testing.md). A separate entry point: the main entry never loads it.
 */
export { MeshFake } from './mesh-fake.js';
export { MeshTestingModule } from './mesh-testing.module.js';
export { fakeStatus, isFakeStatus } from './fake-status.js';
export type {
  FakeCall,
  FakeContext,
  FakeHandler,
  FakeMetadata,
  FakeStreamResult,
  FakeTlsMaterial,
  FakeUnaryResult,
  MeshFakeOptions,
} from './fake.interface.js';
export type { FakeDeepPartial, FakeHandlerOf, FakeHandlers, TypedFakeHandlers } from './typed-handlers.interface.js';
