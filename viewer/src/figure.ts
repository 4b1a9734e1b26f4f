/**
 * The current layout as a PNG figure: every shown pane as it is on screen (the rendered image with
 * its ROIs and lengths), its title bar (series role, per-slice PSNR / SSIM), the overlay text and
 * orientation letters, and the scale bar, placed where they are in the panes' box. At 2× the text,
 * lines and scale bar are drawn at twice the resolution; the images are the screen's rendering
 * scaled up (no more detail than on screen). Footers (probe, ROI readouts) are left out. A text
 * the page cuts with an ellipsis is drawn whole, a size smaller, where that fits (fitText).
 */
import { fitText } from './text-fit.js';

/** Draws the panes' box at `scale` × its CSS size. */
export function layoutFigure(container: HTMLElement, scale: 1 | 2): HTMLCanvasElement {
  const origin = container.getBoundingClientRect();
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(origin.width * scale);
  canvas.height = Math.round(origin.height * scale);
  const context = canvas.getContext('2d')!;
  context.scale(scale, scale);
  context.fillStyle = '#000';
  context.fillRect(0, 0, origin.width, origin.height);
  const box = (e: Element) => {
    const r = e.getBoundingClientRect();
    return { x: r.left - origin.left, y: r.top - origin.top, width: r.width, height: r.height };
  };
  for (const pane of container.querySelectorAll<HTMLElement>('.pane:not([hidden])')) {
    const title = pane.querySelector('.pane-title');
    if (title) {
      const b = box(title);
      context.fillStyle = 'rgb(18, 22, 28)';
      context.fillRect(b.x, b.y, b.width, b.height);
    }
    const image = pane.querySelector<HTMLElement>('.pane-image');
    const picture = image?.querySelector('canvas');
    if (image && picture) {
      const b = box(image);
      context.save();
      context.beginPath();
      context.rect(b.x, b.y, b.width, b.height);
      context.clip();
      const c = box(picture);
      context.imageSmoothingEnabled = true;
      context.drawImage(picture, c.x, c.y, c.width, c.height);
      context.restore();
    }
    const line = pane.querySelector<HTMLElement>('.ov-scale:not([hidden]) .ov-scale-line');
    if (line) {
      const b = box(line);
      context.strokeStyle = getComputedStyle(line).borderLeftColor || '#e8eef5';
      context.lineWidth = 1.5;
      context.beginPath();
      context.moveTo(b.x + 0.75, b.y);
      context.lineTo(b.x + 0.75, b.y + b.height - 0.75);
      context.lineTo(b.x + b.width - 0.75, b.y + b.height - 0.75);
      context.lineTo(b.x + b.width - 0.75, b.y);
      context.stroke();
    }
    const texts = pane.querySelectorAll<HTMLElement>('.pane-title span, .overlay div, .overlay .ov-part');
    for (const element of texts) if (element.childElementCount === 0 && element.textContent && !element.closest('[hidden]')) drawText(context, element, box(element));
  }
  return canvas;
}

/** A text element where it sits, in its computed font and colour, cut to its box. */
function drawText(context: CanvasRenderingContext2D, element: HTMLElement, b: { x: number; y: number; width: number; height: number }): void {
  if (b.width === 0 || b.height === 0) return;
  const style = getComputedStyle(element);
  context.save();
  context.beginPath();
  context.rect(b.x, b.y, b.width + 1, b.height);
  context.clip();
  const font = (size: number) => `${style.fontWeight} ${size}px ${style.fontFamily}`;
  context.fillStyle = style.color;
  context.textBaseline = 'middle';
  context.shadowColor = 'rgba(0, 0, 0, 0.9)';
  context.shadowBlur = 2;
  const padLeft = parseFloat(style.paddingLeft) || 0;
  const padRight = parseFloat(style.paddingRight) || 0;
  // A text the page cuts (a name beside a narrow pane's link button) is drawn whole a size smaller
  // where that makes it fit (a PNG has no tooltip), else cut with an ellipsis, not clipped at the box's far side.
  const fitted = fitText(element.textContent ?? '', b.width - padLeft - padRight, parseFloat(style.fontSize) || 12, (t, size) => {
    context.font = font(size);
    return context.measureText(t).width;
  });
  if (fitted.text === '') {
    context.restore();
    return;
  }
  context.font = font(fitted.size);
  const text = fitted.text;
  const width = context.measureText(text).width;
  const align = style.textAlign === 'right' || style.textAlign === 'end' ? 'right' : style.textAlign === 'center' ? 'center' : 'left';
  const x = align === 'right' ? b.x + b.width - width - padRight : align === 'center' ? b.x + (b.width - width) / 2 : b.x + padLeft;
  context.fillText(text, x, b.y + b.height / 2);
  context.restore();
}

/** Downloads the figure as lowdose-figure.png (lowdose-figure@2x.png at 2×); resolves with its size. */
export async function saveFigure(container: HTMLElement, scale: 1 | 2): Promise<{ width: number; height: number }> {
  const canvas = layoutFigure(container, scale);
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/png'));
  if (!blob) throw new Error('the browser could not encode the figure as PNG');
  const url = URL.createObjectURL(blob);
  const a = Object.assign(document.createElement('a'), { href: url, download: scale === 2 ? 'lowdose-figure@2x.png' : 'lowdose-figure.png' });
  document.body.append(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return { width: canvas.width, height: canvas.height };
}
