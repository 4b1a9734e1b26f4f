/**
 * The torso as ordered paint layers: body wall, cavities, skeleton, thoracic and abdominal
 * organs, vessels and lesions, placed from the reference anatomy through the patient's frame.
 * Positions are reference-anatomy mm (see ./frame.ts): x to the patient's left, y posterior,
 * z superior with the L1 vertebral body at z = 0.
 */
import { Rng } from '../../util/random.js';
import { fractalNoise, type Noise3 } from '../noise.js';
import type { Fill, Layer } from '../raster.js';
import {
  box3,
  capsule,
  displace,
  ellipsoid,
  ellipticCylinder,
  intersection,
  offset,
  type Rotation,
  rotationMatrix,
  type Solid,
  smoothUnion,
  union,
  type Vec3,
} from '../solids.js';
import { BodyFrame, smoothstep } from './frame.js';
import type { BodyParams, TissueHu } from './params.js';
import { growTree, samplePoints, type Segment, smoothPathSamples, valueAlong } from './trees.js';

export interface BodyLesion {
  readonly organ: 'liver' | 'kidney' | 'spleen' | 'lung';
  readonly type: 'metastasis' | 'cyst' | 'hypervascular' | 'solid' | 'nodule';
  /** Centre in the patient frame (mm) and mean radius (mm). */
  readonly centre: Vec3;
  readonly radius: number;
  readonly hu: number;
}

export interface BodyAnatomy {
  readonly layers: Layer[];
  readonly lesions: BodyLesion[];
  readonly frame: BodyFrame;
}

const ALL_Z: readonly [number, number] = [-2000, 2000];

/** Builds every layer of one patient. Deterministic in (params, seed). */
export function buildAnatomy(params: BodyParams, seed: number): BodyAnatomy {
  const frame = new BodyFrame(params);
  const hu = params.hu;
  const rng = new Rng(seed, 0xa7a7);
  let stream = 1;
  const noise = (scale: number, octaves = 3, zStretch = 1): Noise3 =>
    fractalNoise(new Rng(seed, 0x7e47, stream++), { scale, octaves, zStretch });
  const textured = (base: number, amplitude: number, n: Noise3): Fill => (x, y, z) => base + amplitude * n(x, y, z);
  const layers: Layer[] = [];
  const paint = (solid: Solid, fill: Fill) => layers.push({ solid, fill });
  const s = (length: number) => frame.r(length);

  // ---- Patient table under the back, then the body wall from the skin in.
  paintTable(frame, paint);
  const [z0, z1] = ALL_Z;
  const cavity = frame.shell('cavity', z0, z1);
  const abdomen = region(cavity, (x, y, z) => frame.belowDiaphragm(x, y, z));
  const thorax = region(cavity, (x, y, z) => -frame.belowDiaphragm(x, y, z));
  paint(frame.shell('skin', z0, z1), hu.skin);
  paint(frame.shell('fat', z0, z1), textured(hu.fat, 7, noise(9)));
  paint(frame.shell('muscle', z0, z1), textured(hu.muscle, 4, noise(3, 2, 4)));
  paint(abdomen, textured(hu.fat, 8, noise(6)));
  const lungTexture = noise(2.5, 2);
  const lungFill: Fill = (x, y, z) => {
    // Dependent (posterior) lung is denser in a supine patient.
    const depth = (y - frame.params.offsetY + frame.params.halfDepthAnterior) / (frame.params.halfDepthAnterior + frame.params.halfDepthPosterior);
    return hu.lung + 60 * depth * depth + 14 * lungTexture(x, y, z);
  };
  paint(thorax, lungFill);
  paint(region(cavity, (x, y, z) => Math.abs(frame.belowDiaphragm(x, y, z)) - 3), textured(hu.muscle, 3, noise(4)));

  // ---- Back muscles.
  const muscle = textured(hu.muscle, 4, noise(3, 2, 4));
  const backMuscles: Solid[] = [];
  for (const side of [-1, 1]) {
    backMuscles.push(
      ellipticCylinder(frame.x(side * 32), frame.y(74), s(24), s(19), z0, z1),
      capsule(frame.p(side * 28, 30, 5), frame.p(side * 52, 22, -160), s(4), s(23)),
      ellipsoid(frame.p(side * 60, 57, -55), [s(17), s(10), s(70) * params.zScale]),
    );
  }
  for (const solid of backMuscles) paint(solid, muscle);
  // Organs keep out of the spine and the muscles beside it (they would otherwise be painted over).
  const spineZone = ellipticCylinder(frame.x(0), frame.y(35), s(27), s(21), z0, z1);
  const retroperitoneum = union(spineZone, ...backMuscles.map((m) => offset(m, 2)));
  const organSpace: Solid = { bounds: abdomen.bounds, sd: (x, y, z) => Math.max(abdomen.sd(x, y, z), -retroperitoneum.sd(x, y, z)) };

  // ---- Heart and mediastinum (above the diaphragm).
  const heart = paintHeart(frame, hu, thorax, paint, noise);

  // ---- Lungs: arteries, veins and airways grown inside each lung.
  const lungPoints: Float64Array[] = [];
  for (const side of [-1, 1]) {
    const lung = intersection(
      thorax,
      sideOf(frame, side),
      { bounds: heart.bounds, sd: (x, y, z) => 6 - heart.sd(x, y, z) },
      { bounds: thorax.bounds, sd: (_x, _y, z) => z - frame.z(290) },
    );
    const lungBounds = lungBox(frame, side);
    const lungSolid: Solid = { bounds: lungBounds, sd: lung.sd };
    const points = samplePoints(lungSolid, 2600, rng.fork(side + 10));
    lungPoints.push(points);
    const trees: [Vec3, number, number, number, Fill][] = [
      [frame.p(side * 42, 2, 195), 8.5, 0.7, 11, hu.pulmonaryArtery],
      [frame.p(side * 48, 12, 172), 8, 0.7, 12, hu.pulmonaryVein],
    ];
    for (const [root, radius, minRadius, key, fill] of trees) {
      const segments = growTree(root, points, rng.fork(key, side + 5), { rootRadius: s(radius), minRadius, minPoints: 3 });
      paintSegments(segments, fill, paint);
    }
    const airways = growTree(frame.p(side * 34, 14, 205), points, rng.fork(13, side + 5), {
      rootRadius: s(7),
      minRadius: 1.6,
      minPoints: 6,
    });
    paintSegments(airways, 25, paint, 1.25);
    paintSegments(airways, hu.air, paint, 0.8);
  }

  // ---- Skeleton: spine, ribs, sternum, pelvis.
  paintSpine(frame, hu, paint, noise);
  paintRibs(frame, hu, paint, noise);
  paintSternum(frame, hu, paint, noise);
  paintPelvis(frame, hu, paint, noise);

  // ---- Abdominal organs.
  const organs = paintAbdomen(frame, params, organSpace, paint, noise, rng);

  // ---- Great vessels last, so they run through organs (intrahepatic IVC, portal vein).
  paintVessels(frame, params, organs.liver, paint, rng);

  // ---- Lesions.
  const lesions = paintLesions(params, organs, lungPoints, paint, noise, rng);

  return { layers, lesions, frame };
}

type Paint = (solid: Solid, fill: Fill) => void;

/** A solid bounded by `cavity` and by the sign of `cut` (negative inside). */
function region(cavity: Solid, cut: (x: number, y: number, z: number) => number): Solid {
  return { bounds: cavity.bounds, sd: (x, y, z) => Math.max(cavity.sd(x, y, z), cut(x, y, z)) };
}

/** The half of the body on one side of the midline (side -1: patient right = image left). */
function sideOf(frame: BodyFrame, side: number): Solid {
  const ox = frame.params.offsetX;
  return { bounds: box3(-1e4, 1e4, -1e4, 1e4, -1e4, 1e4), sd: (x) => side * (ox - x) + 8 };
}

function lungBox(frame: BodyFrame, side: number) {
  const p = frame.params;
  const a = p.halfWidth * 1.1;
  const x0 = side < 0 ? p.offsetX - a : p.offsetX;
  const x1 = side < 0 ? p.offsetX : p.offsetX + a;
  return box3(x0, x1, p.offsetY - p.halfDepthAnterior, p.offsetY + p.halfDepthPosterior, frame.z(-20), frame.z(290));
}

function paintSegments(segments: readonly Segment[], fill: Fill, paint: Paint, radiusScale = 1): void {
  for (const seg of segments) paint(capsule(seg.p0, seg.p1, seg.r0 * radiusScale, seg.r1 * radiusScale), fill);
}

/** Capsules along a smooth path through reference control points [x, y, z, radius]. */
function tube(frame: BodyFrame, controls: readonly (readonly [number, number, number, number])[], step = 4): Solid[] {
  const samples = smoothPathSamples(
    controls.map(([x, y, z]) => frame.p(x, y, z)),
    step,
  );
  const radii = controls.map(([, , , r]) => frame.r(r));
  const solids: Solid[] = [];
  for (let i = 0; i + 1 < samples.length; i++) {
    const a = samples[i]!;
    const b = samples[i + 1]!;
    solids.push(capsule(a.point, b.point, valueAlong(radii, a.u), valueAlong(radii, b.u)));
  }
  return solids;
}

function paintTable(frame: BodyFrame, paint: Paint): void {
  const p = frame.params;
  const yTop = p.offsetY + p.halfDepthPosterior * 1.04 + 3;
  const radius = 650;
  const thickness = 12;
  const cx = 0;
  const cy = yTop - radius;
  const slab = (inner: number, outer: number): Solid => ({
    bounds: box3(-230, 230, yTop - 60, yTop + thickness + 5, -1e4, 1e4),
    sd: (x, y) => {
      const r = Math.hypot(x - cx, y - cy);
      const radial = Math.max(inner - r, r - outer);
      return Math.max(radial, Math.abs(x) - 225);
    },
  });
  paint(slab(radius, radius + thickness), 250);
  paint(slab(radius + 1.5, radius + thickness - 1.5), -850);
}

function paintHeart(frame: BodyFrame, hu: TissueHu, thorax: Solid, paint: Paint, noise: (s: number, o?: number) => Noise3): Solid {
  const s = (v: number) => frame.r(v);
  const yaw: Rotation = { yaw: -0.55, pitch: 0.35 };
  const pericardialFat = ellipsoid(frame.p(22, -40, 150), [s(66), s(50), s(74)], yaw);
  const heart = ellipsoid(frame.p(22, -40, 150), [s(57), s(41), s(66)], yaw);
  const inThorax = (solid: Solid): Solid => intersection(solid, { bounds: thorax.bounds, sd: (x, y, z) => Math.max(thorax.sd(x, y, z), -1e9) });
  paint(inThorax(pericardialFat), (x, y, z) => -95 + 8 * noise(6)(x, y, z));
  paint(inThorax(heart), hu.myocardium);
  const chambers: [Vec3, Vec3, number][] = [
    [[38, -30, 138], [21, 16, 34], hu.leftHeartBlood],
    [[0, -60, 146], [26, 11, 32], hu.rightHeartBlood],
    [[18, -8, 190], [26, 13, 20], hu.leftHeartBlood],
    [[-26, -24, 168], [21, 18, 28], hu.rightHeartBlood],
  ];
  for (const [c, r, fill] of chambers) {
    paint(inThorax(ellipsoid(frame.p(c[0], c[1], c[2]), [s(r[0]), s(r[1]), s(r[2])], yaw)), fill);
  }
  // Oesophagus behind the heart, left of the midline, into the stomach below the diaphragm.
  for (const solid of tube(frame, [
    [4, 8, 300, 8],
    [8, 8, 200, 8],
    [14, 4, 110, 8],
    [30, -6, 80, 8],
    [42, 2, 66, 9],
  ])) {
    paint(solid, hu.muscle - 8);
  }
  return pericardialFat;
}

interface Level {
  readonly name: string;
  readonly z: number;
  readonly halfHeight: number;
  readonly lumbar: boolean;
}

/** Vertebral levels, reference z of each body's centre (L1 = 0). */
export const SPINE_LEVELS: readonly Level[] = (
  [
    ['L5', -152, true],
    ['L4', -114, true],
    ['L3', -76, true],
    ['L2', -38, true],
    ['L1', 0, true],
    ['T12', 33, false],
    ['T11', 64, false],
    ['T10', 93, false],
    ['T9', 121, false],
    ['T8', 147, false],
    ['T7', 172, false],
    ['T6', 196, false],
    ['T5', 219, false],
    ['T4', 241, false],
    ['T3', 262, false],
  ] as const
).map(([name, z, lumbar], i, all) => {
  const next = all[Math.min(all.length - 1, i + 1)]![1];
  const previous = all[Math.max(0, i - 1)]![1];
  const spacing = i === all.length - 1 ? z - previous : next - z;
  const disc = lumbar ? 10 : 6;
  return { name, z, halfHeight: (spacing - disc) / 2, lumbar };
});

function paintSpine(frame: BodyFrame, hu: TissueHu, paint: Paint, noise: (s: number, o?: number) => Noise3): void {
  const s = (v: number) => frame.r(v);
  const marrowNoise = noise(1.8, 2);
  const marrow: Fill = (x, y, z) => hu.cancellous + 35 * marrowNoise(x, y, z);
  const cortexNoise = noise(2, 2);
  const cortex: Fill = (x, y, z) => hu.cortical + 60 * cortexNoise(x, y, z);
  const arch: Fill = (x, y, z) => 0.55 * hu.cortical + 0.45 * hu.cancellous + 60 * cortexNoise(x, y, z);
  const x0 = frame.x(0);
  const yBody = frame.y(35);
  const zs = frame.params.zScale;
  // Thin patients: keep the spinous processes under the skin and fat.
  const underFat = frame.shell('muscle', -2000, 2000);
  const archPaint = (solid: Solid) => paint(intersection(solid, underFat), arch);
  const canal: [number, number, number] = [0, 0, 0];
  SPINE_LEVELS.forEach((level, i) => {
    const t = smoothstep(0, 120, level.z);
    const ax = s(24 - 7 * t);
    const ay = s(17 - 3 * t);
    const zc = frame.z(level.z);
    const h = level.halfHeight * zs;
    // Vertebral body: cortical shell with cancellous inside.
    paint(ellipticCylinder(x0, yBody, ax, ay, zc - h, zc + h), cortex);
    paint(ellipticCylinder(x0, yBody, ax - 1.6, ay - 1.6, zc - h + 1.3, zc + h - 1.3), marrow);
    // Disc to the next level up.
    const up = SPINE_LEVELS[i + 1];
    if (up) {
      const top = zc + h;
      const bottom = frame.z(up.z) - up.halfHeight * zs;
      paint(ellipticCylinder(x0, yBody, ax * 0.98, ay * 0.98, top, bottom), hu.disc);
    }
    // Posterior elements: pedicles, laminae, spinous and transverse processes.
    const canalRadius = s(level.lumbar ? 10 : 8.5);
    const yCanal = yBody + ay + canalRadius + 1;
    canal[0] = canalRadius;
    const r = s(level.lumbar ? 4.5 : 4);
    for (const dz of [-0.25, 0.25]) {
      const zp = zc + h * (0.2 + dz);
      for (const side of [-1, 1]) {
        archPaint(capsule([x0 + side * ax * 0.55, yBody + ay * 0.6, zp], [x0 + side * (canalRadius + 3), yCanal, zp], r));
        const zl = zc - h * 0.35 + dz * h;
        archPaint(capsule([x0 + side * (canalRadius + 3), yCanal, zl], [x0 + side * 3, yCanal + canalRadius + s(4), zl - 3], r));
        const tipX = side * s(level.lumbar ? 36 : 27);
        const tipY = yCanal + (level.lumbar ? s(3) : s(12));
        const zt = zc + h * 0.1 + dz * 4;
        archPaint(capsule([x0 + side * (canalRadius + 2), yCanal - 2, zt], [x0 + tipX, tipY, zt], r * 0.8, r * 0.55));
      }
    }
    const spinousLength = s(level.lumbar ? 24 : 26);
    const spinousDrop = level.lumbar ? 4 : 22 * zs;
    for (const dz of [-3, 3]) {
      const zt = zc - h * 0.35 + dz;
      archPaint(capsule([x0, yCanal + canalRadius + s(3), zt], [x0, yCanal + canalRadius + s(3) + spinousLength, zt - spinousDrop], s(4)));
    }
  });
  // Spinal canal (CSF) over all levels, and the cord down to L1-L2.
  const zBottom = frame.z(-200);
  const zTop = frame.z(300);
  const ayMid = frame.r(15.5);
  const yCanal = yBody + ayMid + canal[0] + 1;
  paint(ellipticCylinder(x0, yCanal, canal[0] * 1.1, canal[0] * 0.9, zBottom, zTop), hu.csf);
  paint(ellipticCylinder(x0, yCanal - 1, s(4.5), s(4), frame.z(-25), zTop), hu.cord);
}

/** Ribs as tubes that leave the spine, run around inside the chest wall and fall anteriorly. */
function paintRibs(frame: BodyFrame, hu: TissueHu, paint: Paint, noise: (s: number, o?: number) => Noise3): void {
  const cortexNoise = noise(2, 2);
  const bone: Fill = (x, y, z) => 0.75 * hu.cortical + 60 * cortexNoise(x, y, z);
  const marrowNoise = noise(1.5, 2);
  const marrow: Fill = (x, y, z) => hu.cancellous + 40 * marrowNoise(x, y, z);
  const cartilageNoise = noise(3, 2);
  const cartilage: Fill = (x, y, z) => hu.cartilage + 40 * Math.max(0, cartilageNoise(x, y, z) - 0.8) * 5;
  // How far each rib falls from its head to its anterior end (mm, reference adult).
  const drops: Record<string, number> = { T3: 90, T4: 110, T5: 125, T6: 140, T7: 150, T8: 150, T9: 140, T10: 125, T11: 80, T12: 50 };
  const ends: Record<string, number> = { T11: 0.55, T12: 0.35 };
  const outer: Solid[] = [];
  const inner: Solid[] = [];
  const cartilages: Solid[] = [];
  const p = frame.params;
  const ox = p.offsetX;
  const oy = p.offsetY;
  for (const level of SPINE_LEVELS) {
    const drop = drops[level.name];
    if (drop === undefined) continue;
    const end = ends[level.name] ?? 1;
    const boneEnd = end < 1 ? end : level.z > 150 ? 0.8 : 0.72;
    for (const side of [-1, 1]) {
      const zHead = frame.z(level.z);
      const path: { point: Vec3; t: number }[] = [];
      path.push({ point: [frame.x(side * 24), frame.y(42), zHead], t: -0.1 });
      const startAngle = 90 - side * 28;
      const endAngle = 90 - side * 168;
      const steps = 40;
      for (let k = 0; k <= steps; k++) {
        const t = k / steps;
        if (t > end + 1e-9) break;
        const angle = ((startAngle + (endAngle - startAngle) * t) * Math.PI) / 180;
        const z = zHead - 4 - drop * p.zScale * (0.7 * t + 0.3 * t * t);
        // Ribs lie just outside the pleura, inside the chest wall muscle.
        const radius = frame.radiusAlong('cavity', angle, z) + frame.r(6);
        path.push({ point: [ox + radius * Math.cos(angle), oy + radius * Math.sin(angle), z], t });
      }
      for (let k = 0; k + 1 < path.length; k++) {
        const a = path[k]!;
        const b = path[k + 1]!;
        if (b.t <= boneEnd) {
          outer.push(capsule(a.point, b.point, frame.r(5.2)));
          inner.push(capsule(a.point, b.point, frame.r(3.2)));
        } else {
          cartilages.push(capsule(a.point, b.point, frame.r(4.5)));
        }
      }
    }
  }
  for (const solid of outer) paint(solid, bone);
  for (const solid of inner) paint(solid, marrow);
  for (const solid of cartilages) paint(solid, cartilage);
}

function paintSternum(frame: BodyFrame, hu: TissueHu, paint: Paint, noise: (s: number, o?: number) => Noise3): void {
  const marrowNoise = noise(1.5, 2);
  const p = frame.params;
  const yAt = (z: number) => {
    const o = frame.outline(z);
    const f = frame.fat(z);
    return p.offsetY - (o.anterior - 2 - f.anterior) + 9;
  };
  const plate = (hx: number, hy: number, zr0: number, zr1: number): Solid => {
    const za = frame.z(zr0);
    const zb = frame.z(zr1);
    return {
      bounds: box3(p.offsetX - hx - 2, p.offsetX + hx + 2, p.offsetY - p.halfDepthAnterior * 1.2, p.offsetY, za, zb),
      sd: (x, y, z) => {
        const qx = Math.abs(x - p.offsetX) - hx;
        const qy = Math.abs(y - yAt(z)) - hy;
        const d = Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0);
        return Math.max(d, za - z, z - zb);
      },
    };
  };
  paint(plate(frame.r(9), frame.r(4), 95, 125), hu.cartilage + 100);
  paint(plate(frame.r(16), frame.r(6.5), 125, 300), hu.cortical * 0.8);
  paint(plate(frame.r(14.5), frame.r(5), 126, 300), (x, y, z) => hu.cancellous + 40 * marrowNoise(x, y, z));
}

/** Iliac wings below the iliac crests (only reached when the volume extends into the pelvis). */
function paintPelvis(frame: BodyFrame, hu: TissueHu, paint: Paint, noise: (s: number, o?: number) => Noise3): void {
  const marrowNoise = noise(1.5, 2);
  for (const side of [-1, 1]) {
    const centre = frame.p(side * 15, 35, -215);
    const radii: Vec3 = [frame.r(120), frame.r(70), frame.r(110)];
    const wing = ellipsoid(centre, radii);
    const lateral: Solid = { bounds: wing.bounds, sd: (x) => side * (frame.x(side * 55) - x) };
    const top: Solid = { bounds: wing.bounds, sd: (_x, _y, z) => z - frame.z(-110) };
    const shell = (thickness: number): Solid =>
      intersection({ bounds: wing.bounds, sd: (x, y, z) => Math.abs(wing.sd(x, y, z) + 9) - thickness }, lateral, top);
    paint(shell(7), hu.cortical * 0.85);
    paint(shell(5), (x, y, z) => hu.cancellous + 40 * marrowNoise(x, y, z));
  }
}

interface AbdominalOrgans {
  readonly liver: Solid;
  readonly spleen: Solid;
  readonly kidneys: Solid[];
}

function paintAbdomen(
  frame: BodyFrame,
  params: BodyParams,
  abdomen: Solid,
  paint: Paint,
  noise: (s: number, o?: number, zs?: number) => Noise3,
  rng: Rng,
): AbdominalOrgans {
  const hu = params.hu;
  const s = (v: number) => frame.r(v);
  const inside = (solid: Solid, margin = 1.5): Solid =>
    intersection(solid, { bounds: abdomen.bounds, sd: (x, y, z) => abdomen.sd(x, y, z) + margin });
  const textured = (base: number, amplitude: number, n: Noise3): Fill => (x, y, z) => base + amplitude * n(x, y, z);

  // Hollow organs first: solid organs painted after them displace them where shapes overlap.
  // Colon: cecum up the right flank, across anteriorly, down the left; gas mixed with stool.
  const colonControls: [number, number, number, number][] = [
    [-72, -18, -160, 26],
    [-86, 6, -110, 24],
    [-86, 2, -45, 23],
    [-72, -32, -12, 22],
    [-38, -72, -35, 21],
    [0, -80, -48, 21],
    [40, -70, -32, 21],
    [82, -20, 14, 20],
    [96, 18, -35, 18],
    [92, 24, -110, 18],
    [60, -8, -175, 18],
  ];
  const colonSamples = smoothPathSamples(
    colonControls.map(([x, y, z]) => frame.p(x, y, z)),
    5,
  );
  const colonRadii = colonControls.map(([, , , r]) => r);
  const colonWall: Solid[] = [];
  const colonLumen: Solid[] = [];
  let arc = 0;
  for (let i = 0; i + 1 < colonSamples.length; i++) {
    const a = colonSamples[i]!.point;
    const c = colonSamples[i + 1]!.point;
    arc += Math.hypot(c[0] - a[0], c[1] - a[1], c[2] - a[2]);
    // Haustra: the calibre swells and narrows every few centimetres.
    const haustra = 1 + 0.1 * Math.sin((2 * Math.PI * arc) / 32);
    const r = s(valueAlong(colonRadii, colonSamples[i]!.u)) * haustra;
    colonWall.push(inside(capsule(a, c, r)));
    colonLumen.push(inside(capsule(a, c, r - 2.2)));
  }
  // Large gas pockets (non-dependent: more gas anteriorly) and small bubbles trapped in stool.
  const pockets = noise(18, 2);
  const bubbles = noise(2.2, 1);
  const stoolTexture = noise(3);
  const gasThreshold = rng.range(-0.8, 0.8);
  const anteriorY = frame.params.offsetY;
  for (const solid of colonWall) paint(solid, hu.bowelWall);
  for (const solid of colonLumen) {
    paint(solid, (x, y, z) => {
      const gasLikelihood = pockets(x, y, z) - (y - anteriorY) / 60;
      if (gasLikelihood > gasThreshold) return hu.air;
      return bubbles(x, y, z) > 1.9 ? hu.air : hu.stool + 30 * stoolTexture(x, y, z);
    });
  }

  // Small bowel: random loops in the mid and lower abdomen.
  // Fewer, shorter loops in a fat patient; the slim abdomen is packed with bowel.
  const loops = 8 + rng.int(6);
  const bowelWall: Solid[] = [];
  const bowelLumen: [Solid, Fill][] = [];
  const bubble = noise(6, 2);
  for (let l = 0; l < loops; l++) {
    const walk = rng.fork(l, 77);
    let position: Vec3 = [walk.range(-60, 65), walk.range(-85, 10), walk.range(-175, -35)];
    let direction: Vec3 = normalise([walk.range(-1, 1), walk.range(-1, 1), walk.range(-1, 1)]);
    const steps = 30 + walk.int(30);
    const radius = walk.range(10, 14);
    const kind = walk.uniform();
    const content: Fill =
      kind < 0.2
        ? hu.bowelWall
        : params.oralContrast && kind < 0.7
          ? (x, y, z) => 240 + 15 * bubble(x, y, z)
          : (x, y, z) => (bubble(x, y, z) > 1.6 ? hu.air : hu.bowelFluid);
    for (let k = 0; k < steps; k++) {
      direction = normalise([
        direction[0] + walk.range(-0.6, 0.6),
        direction[1] + walk.range(-0.6, 0.6),
        direction[2] + walk.range(-0.6, 0.6),
      ]);
      let next: Vec3 = [position[0] + 9 * direction[0], position[1] + 9 * direction[1], position[2] + 9 * direction[2]];
      // Reflect off the box of the small bowel's territory.
      const limits: [number, number][] = [
        [-70, 75],
        [-92, 14],
        [-185, -30],
      ];
      next = next.map((v, axis) => {
        const [lo, hi] = limits[axis]!;
        if (v < lo || v > hi) direction = direction.map((d, a2) => (a2 === axis ? -d : d)) as unknown as Vec3;
        return Math.min(hi, Math.max(lo, v));
      }) as unknown as Vec3;
      const a = frame.p(position[0], position[1], position[2]);
      const c = frame.p(next[0], next[1], next[2]);
      bowelWall.push(inside(capsule(a, c, s(radius))));
      bowelLumen.push([inside(capsule(a, c, s(radius) - 2.2)), content]);
      position = next;
    }
  }
  for (const solid of bowelWall) paint(solid, hu.bowelWall);
  for (const [solid, fill] of bowelLumen) paint(solid, fill);

  // Duodenum: the C-loop around the pancreatic head.
  const duodenum = tube(frame, [
    [-12, -46, -4, 10],
    [-45, -26, -10, 11],
    [-60, -6, -35, 11],
    [-46, 2, -62, 11],
    [-10, 2, -70, 10],
    [20, -4, -56, 10],
    [36, -14, -42, 9],
  ]);
  for (const solid of duodenum) paint(inside(solid), hu.bowelWall);
  for (const solid of duodenum) paint(inside(offset(solid, -2.5)), params.oralContrast ? 250 : hu.bowelFluid);

  // Stomach: fundus, body and antrum blended; wall, then air over fluid (supine: air anterior).
  const stomachOuter = inside(
    smoothUnion(
      22,
      ellipsoid(frame.p(48, 16, 66), [s(38), s(34), s(30)]),
      ellipsoid(frame.p(45, -32, 38), [s(33), s(28), s(38)], { yaw: -0.3 }),
      ellipsoid(frame.p(12, -55, 6), [s(30), s(19), s(20)], { yaw: 0.4 }),
      ellipsoid(frame.p(-10, -48, -2), [s(14), s(11), s(11)]),
    ),
    3,
  );
  paint(stomachOuter, hu.bowelWall);
  const b = stomachOuter.bounds;
  const level = b.y0 + (1 - params.stomachFill) * (b.y1 - b.y0) * 0.8;
  const debris = noise(5);
  const gastricFluid = params.oralContrast ? 280 : hu.bowelFluid;
  paint(offset(stomachOuter, -3.5), (x, y, z) => (y < level ? hu.air : gastricFluid + 10 * debris(x, y, z)));

  // Pancreas: head in the duodenal sweep, neck over the portal confluence, tail to the splenic hilum.
  const pancreasNoise = noise(3);
  for (const solid of tube(frame, [
    [-38, -8, -30, 14],
    [-20, -15, -15, 12],
    [2, -22, -8, 10],
    [35, -16, 2, 11],
    [62, 5, 12, 10],
    [76, 22, 18, 8],
  ])) {
    paint(displace(solid, 2, noise(5, 2), 0.4), (x, y, z) => hu.pancreas + 7 * pancreasNoise(x, y, z));
  }

  // Kidneys: cortex, medullary pyramids, sinus fat, pelvis and ureter.
  const kidneys: Solid[] = [];
  for (const side of [-1, 1]) {
    const ks = (v: number) => s(v) * params.kidneyScale;
    const centre = side < 0 ? frame.p(-72, 40, -45) : frame.p(75, 38, -30);
    const rotation: Rotation = { yaw: side * 0.35, roll: side * 0.18 };
    const kidney = ellipsoid(centre, [ks(27), ks(23), ks(55) * params.zScale], rotation);
    kidneys.push(kidney);
    paint(kidney, textured(hu.kidneyCortex, 5, noise(4)));
    const [r0, r1, r2] = rotationMatrix(rotation);
    const local = (u: number, v: number, w: number): Vec3 => [
      centre[0] + r0[0] * u + r1[0] * v + r2[0] * w,
      centre[1] + r0[1] * u + r1[1] * v + r2[1] * w,
      centre[2] + r0[2] * u + r1[2] * v + r2[2] * w,
    ];
    // Pyramids on the lateral half, around the long axis; the hilum faces medially (-side on local u).
    for (let k = 0; k < 7; k++) {
      const w = (k / 6 - 0.5) * ks(70) * params.zScale;
      const spread = Math.sqrt(Math.max(0, 1 - (w / (ks(55) * params.zScale)) ** 2));
      const u = side * ks(10) * spread;
      const v = (k % 2 ? 1 : -1) * ks(8) * spread;
      paint(ellipsoid(local(u, v, w), [ks(7) * spread + 1, ks(7) * spread + 1, ks(10)], rotation), textured(hu.kidneyMedulla, 3, noise(3)));
    }
    paint(ellipsoid(local(-side * ks(14), 0, 0), [ks(11), ks(9), ks(28) * params.zScale], rotation), hu.fat + 10);
    paint(ellipsoid(local(-side * ks(15), 0, 0), [ks(6), ks(5), ks(14)], rotation), hu.bowelFluid);
    const hilum = local(-side * ks(24), 0, -ks(5));
    paint(capsule(hilum, [hilum[0] + side * 5, hilum[1] - 5, frame.z(-200)], 2.5, 2.5), hu.bowelFluid);
  }

  // Adrenal glands: thin inverted Vs above the kidneys.
  for (const side of [-1, 1]) {
    const apex = frame.p(side * 30, 24, side < 0 ? 22 : 14);
    paint(capsule(apex, frame.p(side * 24, 10, side < 0 ? 2 : -6), 2.5), hu.muscle - 15);
    paint(capsule(apex, frame.p(side * 40, 30, side < 0 ? 2 : -6), 2.2), hu.muscle - 15);
  }

  // Spleen along the left posterolateral wall; zebra enhancement in the arterial phase.
  const spleen = inside(
    ellipsoid(frame.p(80, 38, 30), [s(22) * params.spleenScale, s(58) * params.spleenScale, s(52) * params.spleenScale], { yaw: 1.0 }),
  );
  const spleenTexture = noise(5);
  const zebra = noise(14, 2);
  paint(spleen, (x, y, z) => hu.spleen + 3 * spleenTexture(x, y, z) + (params.phase === 'arterial' ? 22 * Math.sin(3 * zebra(x, y, z)) : 0));

  // Liver: four lobes blended, filling up to the right hemidiaphragm.
  const ls = (v: number) => s(v) * params.liverScale;
  const liver = inside(
    smoothUnion(
      18,
      ellipsoid(frame.p(-66, 5, 35), [ls(69), ls(78), ls(72)]),
      ellipsoid(frame.p(8, -48, 55), [ls(60), ls(30), ls(36)], { yaw: 0.25 }),
      ellipsoid(frame.p(-12, 22, 45), [ls(20), ls(16), ls(28)]),
      ellipsoid(frame.p(-88, 10, -25), [ls(38), ls(45), ls(45)]),
    ),
  );
  paint(liver, textured(hu.liver, 4.5, noise(7)));

  // Gallbladder in its fossa under the liver.
  if (params.hasGallbladder) {
    const centre = frame.p(-42, -42, -8);
    paint(ellipsoid(centre, [s(17), s(15), s(36)], { pitch: 0.5 }), hu.bowelWall);
    paint(ellipsoid(centre, [s(15), s(13), s(34)], { pitch: 0.5 }), hu.gallbladder);
  }

  return { liver, spleen, kidneys };
}

function normalise(v: Vec3): Vec3 {
  const n = Math.hypot(v[0], v[1], v[2]) || 1;
  return [v[0] / n, v[1] / n, v[2] / n];
}

function paintVessels(frame: BodyFrame, params: BodyParams, liver: Solid, paint: Paint, rng: Rng): void {
  const hu = params.hu;
  const r = params.aortaRadius;
  const paintTube = (controls: [number, number, number, number][], fill: Fill) => {
    for (const solid of tube(frame, controls)) paint(solid, fill);
  };
  // Aorta: descending thoracic, abdominal, bifurcation into the iliac arteries.
  paintTube(
    [
      [28, 22, 300, r * 1.05],
      [26, 20, 150, r * 1.02],
      [18, 10, 60, r],
      [15, 5, 0, r * 0.95],
      [12, 4, -80, r * 0.88],
      [5, 5, -112, r * 0.82],
    ],
    hu.aorta,
  );
  for (const side of [-1, 1]) {
    paintTube(
      [
        [5, 5, -112, r * 0.6],
        [side * 38, 6, -170, r * 0.58],
        [side * 58, 12, -230, r * 0.55],
      ],
      hu.aorta,
    );
  }
  // Calcified plaque on the abdominal aortic wall.
  const plaques = Math.round(params.aorticCalcification * 18);
  for (let k = 0; k < plaques; k++) {
    const zr = rng.range(-110, 20);
    const t = (zr + 112) / 132;
    const cx = 5 + 10 * t;
    const angle = rng.range(0, 2 * Math.PI);
    const rr = r * (0.82 + 0.13 * t);
    const at = (a: number): Vec3 => frame.p(cx + rr * Math.cos(a), 5 + rr * Math.sin(a), zr);
    paint(capsule(at(angle), at(angle + rng.range(0.2, 0.7)), rng.range(0.8, 1.6)), rng.range(500, 1000));
  }
  // Inferior vena cava from the iliac confluence through the liver into the right atrium.
  paintTube(
    [
      [-26, -6, 122, 13],
      [-22, 10, 92, 12],
      [-24, 12, 40, 11],
      [-24, 8, 0, 11],
      [-20, 8, -80, 10],
      [-12, 10, -125, 10],
    ],
    hu.ivc,
  );
  for (const side of [-1, 1]) {
    paintTube(
      [
        [-12, 10, -125, 8],
        [side * 34, 14, -175, 8],
        [side * 50, 18, -230, 7.5],
      ],
      hu.ivc,
    );
  }
  // Celiac trunk, hepatic and splenic arteries, SMA, renal arteries.
  paintTube([[15, 4, 20, 3.5], [14, -10, 22, 3.2]], hu.aorta);
  paintTube([[14, -10, 22, 2.8], [-10, -16, 25, 2.6], [-36, -6, 30, 2.4]], hu.aorta);
  paintTube([[14, -10, 22, 2.8], [35, -4, 26, 2.7], [55, 12, 21, 2.6], [72, 25, 26, 2.5]], hu.aorta);
  paintTube([[15, 4, 5, 3.6], [12, -12, 0, 3.4], [10, -25, -50, 3], [5, -30, -110, 2.4]], hu.aorta);
  paintTube([[18, 5, -18, 3], [50, 24, -24, 2.8]], hu.aorta);
  paintTube([[12, 5, -20, 3], [-20, 16, -26, 3], [-48, 28, -38, 2.8]], hu.aorta);
  // Portal system: SMV and splenic vein join behind the pancreatic neck; portal vein to the hilum.
  paintTube([[2, -5, -10, 7], [-20, -5, 12, 7], [-40, 0, 30, 6.5]], hu.portalVein);
  paintTube([[2, -5, -10, 4.8], [30, 5, -2, 4.6], [60, 18, 10, 4.5], [75, 28, 22, 4.4]], hu.portalVein);
  paintTube([[2, -5, -10, 5.5], [-3, -18, -50, 5], [-8, -28, -110, 4.5]], hu.portalVein);
  paintTube([[50, 20, -22, 4.5], [20, -5, -18, 4.8], [-20, 5, -18, 5]], hu.ivc);
  paintTube([[-48, 25, -34, 5], [-25, 10, -28, 5.5]], hu.ivc);
  // Intrahepatic portal and hepatic venous trees, grown to fill the liver.
  const liverPoints = samplePoints(liver, 1400, rng.fork(31));
  const portal = growTree(frame.p(-40, 0, 30), liverPoints, rng.fork(32), { rootRadius: frame.r(6.5), minRadius: 0.9, minPoints: 3 });
  paintSegments(portal, hu.portalVein, paint);
  const hepaticPoints = samplePoints(liver, 1400, rng.fork(33));
  const hepatic = growTree(frame.p(-20, 14, 88), hepaticPoints, rng.fork(34), { rootRadius: frame.r(6), minRadius: 0.9, minPoints: 3 });
  paintSegments(hepatic, hu.hepaticVein, paint);
}

function paintLesions(
  params: BodyParams,
  organs: AbdominalOrgans,
  lungPoints: Float64Array[],
  paint: Paint,
  noise: (s: number, o?: number) => Noise3,
  rng: Rng,
): BodyLesion[] {
  const hu = params.hu;
  const lesions: BodyLesion[] = [];
  const phase = params.phase;
  const pick = <T>(items: readonly T[]): T => items[rng.int(items.length)]!;
  for (let k = 0; k < params.lesionCount; k++) {
    const u = rng.uniform();
    const organ: BodyLesion['organ'] = u < 0.6 ? 'liver' : u < 0.8 ? 'kidney' : u < 0.9 ? 'spleen' : 'lung';
    const radius = rng.range(2.5, 10);
    let solid: Solid;
    let type: BodyLesion['type'];
    let lesionHu: number;
    if (organ === 'liver') {
      solid = organs.liver;
      type = pick(['metastasis', 'metastasis', 'cyst', 'hypervascular'] as const);
      lesionHu =
        type === 'cyst'
          ? rng.range(0, 15)
          : type === 'metastasis'
            ? hu.liver - (phase === 'none' ? 15 : phase === 'arterial' ? 12 : 40) * rng.range(0.7, 1.3)
            : hu.liver + (phase === 'none' ? -8 : phase === 'arterial' ? 55 : 4) * rng.range(0.7, 1.3);
    } else if (organ === 'kidney') {
      solid = pick(organs.kidneys);
      type = rng.uniform() < 0.7 ? 'cyst' : 'solid';
      lesionHu = type === 'cyst' ? rng.range(0, 15) : hu.kidneyCortex * rng.range(0.6, 0.9);
    } else if (organ === 'spleen') {
      solid = organs.spleen;
      type = 'metastasis';
      lesionHu = hu.spleen - rng.range(20, 40);
    } else {
      solid = { bounds: box3(-1e4, 1e4, -1e4, 1e4, -1e4, 1e4), sd: () => -100 };
      type = 'nodule';
      lesionHu = rng.uniform() < 0.75 ? rng.range(10, 50) : rng.range(-600, -400);
    }
    const centre = organ === 'lung' ? pointFrom(lungPoints[rng.int(2)]!, rng) : findInside(solid, radius + 3, rng);
    if (!centre) continue;
    const radii: Vec3 = [radius * rng.range(0.85, 1.15), radius * rng.range(0.85, 1.15), radius * rng.range(0.85, 1.15)];
    let lesion: Solid = ellipsoid(centre, radii, { yaw: rng.range(0, Math.PI), pitch: rng.range(0, Math.PI) });
    if (type === 'metastasis' || type === 'solid') lesion = displace(lesion, radius * 0.15, noise(radius, 2), 1.5 / radius);
    paint(lesion, lesionHu);
    lesions.push({ organ, type, centre, radius, hu: Math.round(lesionHu * 10) / 10 });
  }
  return lesions;
}

function pointFrom(points: Float64Array, rng: Rng): Vec3 | null {
  const n = points.length / 3;
  if (n === 0) return null;
  const i = rng.int(n);
  return [points[3 * i]!, points[3 * i + 1]!, points[3 * i + 2]!];
}

/** A random point at least `depth` mm inside `solid`, or null. */
function findInside(solid: Solid, depth: number, rng: Rng): Vec3 | null {
  const b = solid.bounds;
  for (let tries = 0; tries < 4000; tries++) {
    const p: Vec3 = [rng.range(b.x0, b.x1), rng.range(b.y0, b.y1), rng.range(b.z0, b.z1)];
    if (solid.sd(p[0], p[1], p[2]) < -depth) return p;
  }
  return null;
}
