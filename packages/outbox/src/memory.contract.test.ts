import { memoryDriver } from './memory-driver.js';
import { describeOutboxDriverContract } from './testing.js';

describeOutboxDriverContract('memoryDriver', { open: () => memoryDriver() });
