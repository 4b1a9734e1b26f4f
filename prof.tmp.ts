import { nlmFilter } from './src/filters/nlm.js';
import { image, addNoise, piecewisePhantom } from './test/filters/direct.js';
const n = 512;
const noisy = image(n, n, addNoise(piecewisePhantom(n), 30, 1), [0.7, 0.7]);
for (let i = 0; i < 3; i++) nlmFilter(noisy, { h: 15, noiseStd: 30 });
