#!/usr/bin/env python3
"""Writes the tiny ONNX test models and their model cards into test/fixtures-models/.

The output is deterministic (no randomness, fixed producer metadata), so rerunning this script
reproduces the committed files byte for byte. Tests only read the committed files: they never need
python. Needs Debian's python3-onnx (onnx 1.12, opset 17) and numpy.

    /usr/bin/python3 scripts/models/make-test-models.py

Models (every one takes x_t [B,1,H,W] and a timestep t [B] as float32, like a trained model):
  oracle-<prediction>-<schedule>  knows the clean image (passed as the condition) and returns the
                                   exact epsilon / x0 / v for whatever x_t it is given, computed in
                                   float64 from the same schedule the TypeScript code builds. Samplers
                                   must recover the clean image from it to float precision.
                                   (oracle-sample-* returns the condition: x0 for any schedule.)
  per-pixel                        y = 0.5 x_t + 0.25 mask*cond + 0.125 dose + 1e-4 t: no spatial
                                   mixing, so tiled and untiled runs must agree exactly.
  per-pixel-neighbours             3-channel condition and a modality input (one model for CT and PT).
  per-pixel-fixed32                per-pixel with a static 32x32 input: needs tiling.
  per-pixel-batch1-int64t          per-pixel exported with a fixed batch of 1 and an int64 timestep.
  per-pixel-batch3                 per-pixel exported with a fixed batch of 3: calls are padded to 3.
  minimal                          only x_t, t, cond (no dose level, no condition mask).
  bench-conv                       4 random 3x3 convolutions (16 channels), tile 256: for benchmarks.
  latent-codec-encoder / -decoder  a lossless 2x "autoencoder": encoder 2 x SpaceToDepth(2) (4 latent
                                   channels), decoder DepthToSpace(2) x 0.5; no cards of their own.
  oracle-v-cosine-latent           oracle-v-cosine on that codec's latents (card space "latent"): the
                                   samplers must recover the clean image through encode, latent
                                   reverse process and decode.
  per-pixel-latent                 per-pixel on the latents, with a condition mask (guidance) and an
                                   uncertainty calibration block (--uncertainty).
"""
import json
import math
import os
import re

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'fixtures-models')
OPSET = 17


# ---- schedules: the same formulas as src/diffusion/schedules.ts -----------------------------------

def betas_from_alpha_bar(alpha_bar, steps, max_beta=0.999):
    betas = np.empty(steps, dtype=np.float64)
    for i in range(steps):
        betas[i] = min(1.0 - alpha_bar((i + 1) / steps) / alpha_bar(i / steps), max_beta)
    return betas


def make_betas(kind, steps, beta_start=1e-4, beta_end=0.02, s=0.008, midpoint=0.2, steepness=12.0):
    if kind == 'linear':
        step = (beta_end - beta_start) / (steps - 1)
        betas = np.array([beta_start + i * step for i in range(steps)], dtype=np.float64)
        betas[-1] = beta_end
        return betas
    if kind == 'cosine':
        return betas_from_alpha_bar(lambda u: math.cos((u + s) / (1 + s) * math.pi / 2) ** 2, steps)
    if kind == 'aggressive':
        sig = lambda z: 1.0 / (1.0 + math.exp(-z))
        hi = sig(steepness * (1 - midpoint))
        lo = sig(-steepness * midpoint)
        return betas_from_alpha_bar(lambda u: (hi - sig(steepness * (u - midpoint))) / (hi - lo), steps)
    raise ValueError(kind)


def alphas_cumprod(betas):
    out = np.empty_like(betas)
    acc = 1.0
    for i, b in enumerate(betas):
        acc *= 1.0 - b
        out[i] = acc
    return out


# ---- graph helpers ------------------------------------------------------------------------------

def image_input(name, channels=1, size=None, batch='B'):
    h, w = (size, size) if size else ('H', 'W')
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, [batch, channels, h, w])


def vector_input(name, batch='B', dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, [batch])


def const(name, value, dtype=np.float32):
    return numpy_helper.from_array(np.array(value, dtype=dtype), name)


def save(model_name, graph, card):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', OPSET)],
                              producer_name='lowdose make-test-models.py', producer_version='1')
    model.ir_version = 8
    onnx.checker.check_model(model)
    with open(os.path.join(OUT, model_name + '.onnx'), 'wb') as f:
        f.write(model.SerializeToString())
    card = dict(card)
    card['onnx'] = model_name + '.onnx'
    text = json.dumps(card, indent=2)
    # Short arrays (shapes, ranges) on one line, as a person would write them.
    text = re.sub(r'\[\s+([^\[\]{}]*?)\s+\]', lambda m: '[' + ', '.join(x.strip() for x in m.group(1).split(',')) + ']', text)
    with open(os.path.join(OUT, model_name + '.json'), 'w') as f:
        f.write(text + '\n')


def base_card(name, schedule, prediction, inputs, output_name='out', neighbours=0,
              modalities=('CT',), tile=None, sampler=None, guidance=None, size=None):
    return {
        'format': 'lowdose-model-card/1',
        'name': name,
        'description': 'Test model generated by scripts/models/make-test-models.py; not a denoiser.',
        'modalities': list(modalities),
        'onnx': '',
        'inputs': inputs,
        'output': {'name': output_name, 'shape': [inputs['sample']['shape'][0], 1] + ([size, size] if size else ['H', 'W'])},
        'neighbours': neighbours,
        'prediction': prediction,
        'schedule': schedule,
        'normalization': (
            {'units': 'HU', 'transform': 'linear', 'offset': 0, 'scale': 1000} if len(modalities) == 1 else
            {'CT': {'units': 'HU', 'transform': 'linear', 'offset': 0, 'scale': 1000, 'clip': [-1024, 3071]},
             'PT': {'units': 'SUVbw', 'transform': 'log1p', 'offset': 0, 'scale': 1, 'clip': [0, 100]}}),
        'tile': tile or {'multipleOf': 1, 'overlap': 0},
        'sampler': sampler or {'default': 'ddim', 'steps': 20, 'eta': 0},
        'guidance': guidance or {'conditionDropout': 0, 'default': 1},
        'training': {'note': 'none: analytic test graph'},
        'quality': {},
    }


def std_inputs(cond_channels=1, size=None, dose=True, mask=True, modality=False):
    hw = [size, size] if size else ['H', 'W']
    inputs = {
        'sample': {'name': 'x_t', 'shape': ['B', 1] + hw},
        'timestep': {'name': 't', 'shape': ['B']},
        'condition': {'name': 'cond', 'shape': ['B', cond_channels] + hw},
    }
    if dose:
        inputs['doseLevel'] = {'name': 'dose', 'shape': ['B']}
    if mask:
        inputs['conditionMask'] = {'name': 'cond_mask', 'shape': ['B']}
    if modality:
        inputs['modality'] = {'name': 'modality', 'shape': ['B']}
    return inputs


# ---- oracle models ------------------------------------------------------------------------------

def oracle(prediction, schedule, channels=1, suffix='', latent=None):
    """Exact model output for the clean image x0 = cond, computed in float64."""
    kind = schedule['kind']
    name = f'oracle-{prediction}-{kind}{suffix}'
    inputs = [image_input('x_t', channels), vector_input('t'), image_input('cond', channels)]
    card = base_card(name, schedule, prediction, std_inputs(dose=False, mask=False))
    if latent:
        card = latent_card(card, latent)
    if prediction == 'sample':  # x0 itself: independent of the schedule (also serves resshift)
        if kind == 'resshift':
            card['sampler'] = {'default': 'resshift', 'steps': schedule['trainSteps']}
        nodes = [helper.make_node('Identity', ['cond'], ['out'])]
        save(name, helper.make_graph(nodes, name, inputs, [image_input('out')]), card)
        return
    betas = make_betas(kind, schedule['trainSteps'])
    ab = alphas_cumprod(betas)
    nodes = [
        helper.make_node('Cast', ['t'], ['t_i'], to=TensorProto.INT64),
        helper.make_node('Gather', ['alphas_cumprod', 't_i'], ['ab_b'], axis=0),
        helper.make_node('Reshape', ['ab_b', 'bshape'], ['ab']),  # [B,1,1,1]
        helper.make_node('Sqrt', ['ab'], ['sab']),
        helper.make_node('Sub', ['one', 'ab'], ['omab']),
        helper.make_node('Sqrt', ['omab'], ['somab']),
        helper.make_node('Cast', ['x_t'], ['xd'], to=TensorProto.DOUBLE),
        helper.make_node('Cast', ['cond'], ['x0'], to=TensorProto.DOUBLE),
    ]
    if prediction == 'epsilon':  # (x_t - sqrt(ab) x0) / sqrt(1 - ab)
        nodes += [helper.make_node('Mul', ['sab', 'x0'], ['sx0']),
                  helper.make_node('Sub', ['xd', 'sx0'], ['num']),
                  helper.make_node('Div', ['num', 'somab'], ['outd'])]
    elif prediction == 'v':  # (sqrt(ab) x_t - x0) / sqrt(1 - ab)
        nodes += [helper.make_node('Mul', ['sab', 'xd'], ['sxt']),
                  helper.make_node('Sub', ['sxt', 'x0'], ['num']),
                  helper.make_node('Div', ['num', 'somab'], ['outd'])]
    nodes.append(helper.make_node('Cast', ['outd'], ['out'], to=TensorProto.FLOAT))
    inits = [const('alphas_cumprod', ab, np.float64), const('one', 1.0, np.float64),
             const('bshape', [-1, 1, 1, 1], np.int64)]
    save(name, helper.make_graph(nodes, name, inputs, [image_input('out', channels)], inits), card)


# ---- latent models ------------------------------------------------------------------------------

LATENT = {'factor': 2, 'channels': 4,
          'encoder': {'onnx': 'latent-codec-encoder.onnx', 'input': {'name': 'image', 'shape': ['B', 1, 'H', 'W']},
                      'output': {'name': 'latent', 'shape': ['B', 4, 'h', 'w']}},
          'decoder': {'onnx': 'latent-codec-decoder.onnx', 'input': {'name': 'latent', 'shape': ['B', 4, 'h', 'w']},
                      'output': {'name': 'image', 'shape': ['B', 1, 'H', 'W']}},
          'note': 'lossless test codec: encoder 2 x SpaceToDepth(2), decoder DepthToSpace(2) x 0.5'}


def latent_codec():
    """Encoder and decoder of LATENT: exact inverses (the factor 2 checks that the decoder runs)."""
    enc = helper.make_graph(
        [helper.make_node('SpaceToDepth', ['image'], ['s2d'], blocksize=2), helper.make_node('Mul', ['s2d', 'two'], ['latent'])],
        'latent-codec-encoder', [image_input('image', 1)],
        [helper.make_tensor_value_info('latent', TensorProto.FLOAT, ['B', 4, 'h', 'w'])], [const('two', 2.0)])
    dec = helper.make_graph(
        [helper.make_node('Mul', ['latent', 'half'], ['scaled']), helper.make_node('DepthToSpace', ['scaled'], ['image'], blocksize=2, mode='DCR')],
        'latent-codec-decoder', [helper.make_tensor_value_info('latent', TensorProto.FLOAT, ['B', 4, 'h', 'w'])],
        [image_input('image', 1)], [const('half', 0.5)])
    for graph in (enc, dec):
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', OPSET)],
                                  producer_name='lowdose make-test-models.py', producer_version='1')
        model.ir_version = 8
        onnx.checker.check_model(model)
        with open(os.path.join(OUT, graph.name + '.onnx'), 'wb') as f:
            f.write(model.SerializeToString())


def latent_card(card, latent):
    """A pixel card turned into a latent one: space, latent block, latent channels in and out."""
    c = latent['channels']
    card = dict(card)
    card['space'] = 'latent'
    card['latent'] = latent
    card['inputs'] = {k: dict(v, shape=list(v['shape'])) for k, v in card['inputs'].items()}
    for role in ('sample', 'condition'):
        card['inputs'][role]['shape'][1] = c
    card['output'] = dict(card['output'], shape=[card['output']['shape'][0], c] + card['output']['shape'][2:])
    # Latent grid a multiple of 2: images are padded to a multiple of factor x 2 = 4 pixels.
    card['tile'] = {'multipleOf': 2, 'overlap': 0}
    keys = list(card.keys())
    order = keys[:keys.index('onnx') + 1] + ['space', 'latent'] + [k for k in keys[keys.index('onnx') + 1:] if k not in ('space', 'latent')]
    return {k: card[k] for k in order}


# ---- per-pixel models ---------------------------------------------------------------------------

def per_pixel(name, cond_channels=1, size=None, modality=False, batch='B', int64_timestep=False, latent=None):
    ch = latent['channels'] if latent else 1
    nodes = [
        helper.make_node('Reshape', ['cond_mask', 'bshape'], ['mask4']),
        helper.make_node('Reshape', ['dose', 'bshape'], ['dose4']),
    ]
    if int64_timestep:
        nodes += [helper.make_node('Cast', ['t'], ['t_f'], to=TensorProto.FLOAT),
                  helper.make_node('Reshape', ['t_f', 'bshape'], ['t4'])]
    else:
        nodes += [helper.make_node('Reshape', ['t', 'bshape'], ['t4'])]
    nodes += [
        helper.make_node('Mul', ['x_t', 'a'], ['ax']),
        helper.make_node('Mul', ['cond', 'mask4'], ['cm']),
    ]
    if cond_channels == 1:
        nodes.append(helper.make_node('Mul', ['cm', 'b'], ['bc']))
    else:  # weighted channel sum: 0.25 * (0.5 prev + 1 centre + 0.25 next)
        nodes += [helper.make_node('Mul', ['cm', 'bw'], ['cmw']),
                  helper.make_node('ReduceSum', ['cmw', 'axis1'], ['bc'], keepdims=1)]
    nodes += [
        helper.make_node('Mul', ['dose4', 'c'], ['cd']),
        helper.make_node('Mul', ['t4', 'd'], ['dt']),
        helper.make_node('Add', ['ax', 'bc'], ['s1']),
        helper.make_node('Add', ['s1', 'cd'], ['s2']),
    ]
    if modality:
        nodes += [helper.make_node('Reshape', ['modality', 'bshape'], ['mod4']),
                  helper.make_node('Mul', ['mod4', 'e'], ['em']),
                  helper.make_node('Add', ['s2', 'em'], ['s3']),
                  helper.make_node('Add', ['s3', 'dt'], ['out'])]
    else:
        nodes.append(helper.make_node('Add', ['s2', 'dt'], ['out']))
    inits = [const('a', 0.5), const('b', 0.25), const('c', 0.125), const('d', 1e-4), const('e', -0.0625),
             const('bw', np.array([0.125, 0.25, 0.0625], dtype=np.float32).reshape(1, 3, 1, 1)),
             const('axis1', [1], np.int64), const('bshape', [-1, 1, 1, 1], np.int64)]
    t_type = TensorProto.INT64 if int64_timestep else TensorProto.FLOAT
    inputs = [image_input('x_t', ch, size, batch), vector_input('t', batch, t_type),
              image_input('cond', cond_channels * ch, size, batch), vector_input('dose', batch), vector_input('cond_mask', batch)]
    if modality:
        inputs.append(vector_input('modality', batch))
    used = {i for n in nodes for i in n.input}
    graph = helper.make_graph(nodes, name, inputs, [image_input('out', ch, size, batch)],
                              [i for i in inits if i.name in used])
    schedule = {'kind': 'linear', 'trainSteps': 1000, 'betaStart': 1e-4, 'betaEnd': 0.02}
    tile = {'size': size, 'multipleOf': 1, 'overlap': 8} if size else {'multipleOf': 1, 'overlap': 0}
    inputs = std_inputs(cond_channels, size, modality=modality)
    for spec in inputs.values():
        spec['shape'][0] = batch
    if int64_timestep:
        inputs['timestep']['dtype'] = 'int64'
    card = base_card(name, schedule, 'epsilon', inputs,
                     neighbours=1 if cond_channels == 3 else 0,
                     modalities=('CT', 'PT') if modality else ('CT',), tile=tile,
                     guidance={'conditionDropout': 0.1, 'default': 1}, size=size)
    if latent:
        card = latent_card(card, latent)
        card['uncertainty'] = {'samples': 3, 'calibration': [{'samples': 3, 'spreadScale': 1.5, 'noiseScale': 0.0, 'noiseWindowMm': 5}],
                               'threshold': 10, 'units': 'HU', 'note': 'made-up numbers for the plumbing test'}
    save(name, graph, card)


def bench_conv(name='bench-conv', width=16, layers=4):
    """A small convolution stack with fixed pseudo-random weights: a stand-in for a real denoiser's
    cost profile (3x3 convolutions over the whole image) in scripts/bench/diffusion-overhead.ts."""
    rng = np.random.RandomState(0)
    nodes = [helper.make_node('Concat', ['x_t', 'cond'], ['h0'], axis=1),
             helper.make_node('Div', ['t', 'tscale'], ['t_n']),
             helper.make_node('Mul', ['dose', 'cond_mask'], ['dm']),
             helper.make_node('Add', ['t_n', 'dm'], ['tb']),
             helper.make_node('Reshape', ['tb', 'bshape'], ['tb4'])]
    inits = [const('tscale', 1000.0), const('bshape', [-1, 1, 1, 1], np.int64)]
    channels = [2] + [width] * (layers - 1) + [1]
    h = 'h0'
    for i in range(layers):
        cin, cout = channels[i], channels[i + 1]
        w = (rng.randn(cout, cin, 3, 3) / np.sqrt(9 * cin)).astype(np.float32)
        inits += [const(f'w{i}', w), const(f'b{i}', np.zeros(cout, np.float32))]
        nodes.append(helper.make_node('Conv', [h, f'w{i}', f'b{i}'], [f'c{i}'], pads=[1, 1, 1, 1]))
        if i < layers - 1:
            nodes += [helper.make_node('Add', [f'c{i}', 'tb4'], [f'a{i}']),
                      helper.make_node('Relu', [f'a{i}'], [f'h{i + 1}'])]
            h = f'h{i + 1}'
        else:
            nodes.append(helper.make_node('Identity', [f'c{i}'], ['out']))
    inputs = [image_input('x_t'), vector_input('t'), image_input('cond'), vector_input('dose'), vector_input('cond_mask')]
    graph = helper.make_graph(nodes, name, inputs, [image_input('out')], inits)
    schedule = {'kind': 'linear', 'trainSteps': 1000, 'betaStart': 1e-4, 'betaEnd': 0.02}
    card = base_card(name, schedule, 'epsilon', std_inputs(), tile={'size': 256, 'multipleOf': 8, 'overlap': 32},
                     sampler={'default': 'warm-start', 'steps': 4, 'strength': 0.2, 'eta': 0},
                     guidance={'conditionDropout': 0.1, 'default': 1})
    save(name, graph, card)


def minimal():
    nodes = [helper.make_node('Reshape', ['t', 'bshape'], ['t4']),
             helper.make_node('Mul', ['t4', 'd'], ['dt']),
             helper.make_node('Sub', ['x_t', 'cond'], ['diff']),
             helper.make_node('Add', ['diff', 'dt'], ['out'])]
    inits = [const('d', 1e-4), const('bshape', [-1, 1, 1, 1], np.int64)]
    graph = helper.make_graph(nodes, 'minimal', [image_input('x_t'), vector_input('t'), image_input('cond')],
                              [image_input('out')], inits)
    schedule = {'kind': 'cosine', 'trainSteps': 1000, 's': 0.008}
    card = base_card('minimal', schedule, 'epsilon', std_inputs(dose=False, mask=False),
                     tile={'multipleOf': 8, 'overlap': 0})
    save('minimal', graph, card)


def main():
    os.makedirs(OUT, exist_ok=True)
    linear = {'kind': 'linear', 'trainSteps': 1000, 'betaStart': 1e-4, 'betaEnd': 0.02}
    cosine = {'kind': 'cosine', 'trainSteps': 1000, 's': 0.008}
    aggressive = {'kind': 'aggressive', 'trainSteps': 1000, 'midpoint': 0.2, 'steepness': 12}
    oracle('epsilon', linear)
    oracle('epsilon', cosine)
    oracle('epsilon', aggressive)
    oracle('v', cosine)
    oracle('sample', linear)
    oracle('sample', {'kind': 'resshift', 'trainSteps': 15, 'kappa': 2, 'power': 0.3})
    per_pixel('per-pixel')
    per_pixel('per-pixel-neighbours', cond_channels=3, modality=True)
    per_pixel('per-pixel-fixed32', size=32)
    per_pixel('per-pixel-batch1-int64t', batch=1, int64_timestep=True)
    per_pixel('per-pixel-batch3', batch=3)
    minimal()
    bench_conv()
    latent_codec()
    oracle('v', cosine, channels=4, suffix='-latent', latent=LATENT)
    per_pixel('per-pixel-latent', latent=LATENT)


if __name__ == '__main__':
    main()
