export * from './card.js';
export * from './onnx-model.js';
export * from './load.js';
export * from './installed.js';
export * from './denoise-slices.js';
export * from './denoiser.js';
export * from './lesion-bias.js';
export * from './fingerprint.js';
