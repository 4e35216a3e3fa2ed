import t from 'tap';
import { createMemoryStorage, MemoryStore } from '../../src/state/memory-store.ts';
import { storeConformance } from './store-conformance.ts';

storeConformance(t, {
  name: 'memory',
  location() {
    const storage = createMemoryStorage();
    return { open: (options = {}) => new MemoryStore({ storage, ...options }) };
  },
});
