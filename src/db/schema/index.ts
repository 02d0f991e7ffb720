export * from './coop.js';
export * from './accounts.js';
export * from './sessions.js';
export * from './mail.js';
export * from './producers.js';
export * from './catalog.js';
export * from './cycles.js';
export * from './orders.js';
