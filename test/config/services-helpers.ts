// Re-exports for test/config/services.test.ts.
export { servicesOf } from '../../src/config/services.ts';
export { statePathOf as statePathOfForTest } from '../../src/services/runtime.ts';
