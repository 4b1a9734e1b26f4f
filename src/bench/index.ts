export * from './run.js';
export * from './format.js';
export * from './machine.js';
export * from './synthetic.js';
