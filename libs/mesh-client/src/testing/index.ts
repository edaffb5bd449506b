/**
 * @datapunk/mesh-client/testing: fakes of the services an application calls, for its tests (docs/guide/testing.md;
 * docs/reference/api.md lists these exports, each `// Title` comment starting a group). A separate
 * entry point: the main entry never loads it.
 */
// Fakes
export { MeshFake } from './mesh-fake.js';
export { fakeStatus, isFakeStatus } from './fake-status.js';
export type { FakeTlsMaterial, MeshFakeOptions } from './fake.interface.js';
// Handlers
export type { FakeContext, FakeHandler, FakeMetadata, FakeStreamResult, FakeUnaryResult } from './fake.interface.js';
export type { FakeDeepPartial, FakeHandlerOf, FakeHandlers, TypedFakeHandlers } from './typed-handlers.interface.js';
// Recording
export type { FakeCall } from './fake.interface.js';
// Nest wiring
export { MeshTestingModule } from './mesh-testing.module.js';
