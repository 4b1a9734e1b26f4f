/**
 * The difference pane's pixels and colours for the viewer: the shared code of
 * src/server/difference-pane.ts (the server's `/api/figure.png` draws the same pane with it), so
 * the page and the API's figure agree pixel for pixel.
 */
export * from '../../src/server/difference-pane.js';
