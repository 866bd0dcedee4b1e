export * from './domains.js';
export * from './space.js';
