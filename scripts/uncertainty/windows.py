"""Window statistics the uncertainty studies (terms.py, model-forms.py) build their maps with, as
src/metrics/uncertainty.ts computes them."""
import numpy as np
from scipy.ndimage import uniform_filter


def box_mean(x, radius):
    """Mean over a (2r+1)^2 box clipped at the border (src/metrics/uncertainty.ts boxMean)."""
    size = 2 * radius + 1
    return uniform_filter(x, size, mode='constant') / uniform_filter(np.ones_like(x), size, mode='constant')


def window_radius(mm, spacing):
    """The box radius, pixels, of a window `mm` across at the slice's pixel spacing (at least 1)."""
    return max(1, int(np.floor(mm / np.sqrt(spacing[0] * spacing[1]) / 2 + 0.5)))
