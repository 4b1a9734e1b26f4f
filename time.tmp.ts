import { nlmFilter } from './src/filters/nlm.js';
import { bilateralFilter } from './src/filters/bilateral.js';
import { gaussianFilter } from './src/filters/gaussian.js';
import { image, addNoise, piecewisePhantom } from './test/filters/direct.js';
const n = 512;
const noisy = image(n, n, addNoise(piecewisePhantom(n), 30, 1), [0.7, 0.7]);
function t(name: string, f: () => unknown, k = 3) { f(); const s = performance.now(); for (let i = 0; i < k; i++) f(); console.log(name, ((performance.now() - s) / k).toFixed(0), 'ms'); }
t('gauss 1mm', () => gaussianFilter(noisy, { sigmaMm: 1 }));
t('gauss 2px', () => gaussianFilter(noisy, { sigmaPx: 2 }));
t('bilateral 1.5px', () => bilateralFilter(noisy, { sigmaSpatialPx: 1.5, sigmaRange: 60 }));
t('bilateral 1.7px (r5)', () => bilateralFilter(noisy, { sigmaSpatialPx: 5/3, sigmaRange: 60 }));
t('nlm 7x7 21x21', () => nlmFilter(noisy, { h: 15, noiseStd: 30 }), 2);
