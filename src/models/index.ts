export * from './card.js';
export * from './onnx-model.js';
export * from './load.js';
export * from './installed.js';
