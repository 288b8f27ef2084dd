export * from './types.js';
export * from './memory.js';
export * from './env.js';
export * from './file.js';
export * from './keyring.js';
export * from './open.js';
