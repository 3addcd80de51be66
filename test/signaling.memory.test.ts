import { MemoryPairingStore } from '../src/store/memory-store.js';
import { describeSignalingSuite } from './suites/signaling.suite.js';

describeSignalingSuite('memory', async (options) => new MemoryPairingStore(options));
