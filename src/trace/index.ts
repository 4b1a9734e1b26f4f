export * from './forward.js';
export * from './reverse.js';
export * from './render.js';
export * from './canvas.js';
export * from './font.js';
export * from './trace.js';
