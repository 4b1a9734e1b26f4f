"""Reference outputs of scipy.ndimage.gaussian_filter for test/filters/gaussian.test.ts.

Run from the repository root: /usr/bin/python3 test/filters/data/make-scipy-reference.py
(scipy 1.10; the test only reads the JSON this writes).
"""
import json
import os

import numpy as np
import scipy
from scipy.ndimage import gaussian_filter

rng = np.random.RandomState(5)
cases = []
for rows, cols, sigma in [(31, 23, (1.3, 2.1)), (31, 23, (0.7, 0.7)), (31, 23, (3.0, 0.0)), (5, 4, (3.0, 2.5))]:
    image = np.round(rng.standard_normal((rows, cols)) * 100 + np.linspace(-500, 500, cols)[None, :])
    out = gaussian_filter(image.astype(np.float64), sigma=sigma, mode='reflect', truncate=4.0)
    cases.append({
        'rows': rows,
        'columns': cols,
        'sigma': list(sigma),
        'input': [int(v) for v in image.ravel()],
        'output': [round(float(v), 6) for v in out.ravel()],
    })
path = os.path.join(os.path.dirname(__file__), 'scipy-gaussian.json')
with open(path, 'w') as f:
    json.dump({'scipy': scipy.__version__, 'call': "gaussian_filter(x, sigma=(rows, columns), mode='reflect', truncate=4.0)", 'cases': cases}, f)
