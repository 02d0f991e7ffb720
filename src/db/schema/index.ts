export * from './coop.js';
export * from './accounts.js';
export * from './sessions.js';
export * from './mail.js';
