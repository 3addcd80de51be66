import { MemoryPairingStore } from './memory-store.js';
import { describePairingStoreContract } from './pairing-store.contract.js';

describePairingStoreContract('memory', async () => new MemoryPairingStore());
