export * from './devices.js';
export * from './session.js';
export * from './worker-session.js';
