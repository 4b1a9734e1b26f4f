export * from './devices.js';
export * from './session.js';
